package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Log formats for Log.Format.
const (
	LogJSON = "json"
	LogText = "text"
)

// QueryExecModes are the pgx execution modes DB_QUERY_EXEC_MODE accepts
// (pgx's own default_query_exec_mode values). Only cache_statement keeps
// named prepared statements on the server connection, which a
// transaction-mode pooler (PgBouncer, Neon's pooled endpoint) hands to other
// clients; describe_exec needs its two round trips on one server connection.
var QueryExecModes = []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"}

// DefaultQueryExecMode is safe behind a transaction-mode pooler and the
// fastest mode that is: each statement's parameter and result types are
// learnt once per connection (an unnamed statement), then every execution
// is one self-contained round trip with binary results. It costs 15–23 %
// less CPU per list or get than "exec", whose text results pgx must parse
// (bench/README.md).
const DefaultQueryExecMode = "cache_describe"

// Log says how the service writes its log.
type Log struct {
	// Format is LogJSON, LogText, or "" for text on a terminal and JSON otherwise.
	Format string
	Level  slog.Level
}

// HTTP bounds what one client may take from the server.
type HTTP struct {
	// ReadTimeout bounds reading one request, headers and body; a slow
	// client is cut off after it.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections that send nothing: 30 s by
	// default, 120 s behind a proxy (ProxyHeader set), which must close a
	// pooled connection before the service does or it answers a request
	// with 502 when the two close at once.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests after SIGTERM.
	ShutdownTimeout time.Duration
	// ProxyHeader names the header in which the platform's proxy passes the
	// client's address (Fly-Client-IP on Fly.io); empty means the peer address.
	ProxyHeader string
	// ProxyHops is how many proxies in front of the service append an
	// address to ProxyHeader: the client's address is that many entries from
	// the right, since whatever stands further left the client may have
	// written itself (2 on Render, where Cloudflare and Render's proxy each
	// append one to X-Forwarded-For).
	ProxyHops int
	// MaxConnsPerIP caps the connections one client address (an IPv6 /64)
	// holds open at once; 0 turns the cap off. 64 by default, off behind a
	// proxy, where every connection comes from the proxy and the platform
	// caps them (fly.toml's hard_limit).
	MaxConnsPerIP int
}

// RateLimit is the per-user (per-IP when anonymous) token bucket.
type RateLimit struct {
	// PerMinute is the sustained rate; 0 turns the limit off.
	PerMinute int
	// Burst is the bucket size: how many requests may arrive at once.
	Burst int
}

// InFlight caps the requests one user has in progress at once
// (middleware.InFlight): the rate limit counts requests, this their
// duration, so slow requests cannot take the whole database.
type InFlight struct {
	// PerUser is how many of a user's requests run at once; 0 turns the
	// cap off.
	PerUser int
	// CostlyPerUser is how many of those may be costly: a list, a search,
	// the counts or clearing the completed tasks, whose work grows with the
	// user's number of tasks.
	CostlyPerUser int
	// Wait is how long a request over the cap waits for a slot before it
	// is refused with 429.
	Wait time.Duration
}

// loadOps reads the operational settings: logging, metrics, HTTP limits,
// rate limit, and the database's pool and time-outs.
func loadOps(get func(string, string) string, cfg *Config) []error {
	var errs []error
	fail := func(err error) { errs = append(errs, err) }

	switch f := strings.ToLower(get("LOG_FORMAT", "")); f {
	case "", LogJSON, LogText:
		cfg.Log.Format = f
	default:
		fail(fmt.Errorf("LOG_FORMAT must be %q or %q, got %q", LogJSON, LogText, f))
	}
	if err := cfg.Log.Level.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		fail(errors.New("LOG_LEVEL must be debug, info, warn or error"))
	}

	cfg.MetricsAddr = get("METRICS_ADDR", "")
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			fail(fmt.Errorf("METRICS_ADDR must be HOST:PORT or :PORT, got %q", cfg.MetricsAddr))
		}
	}

	cfg.PprofAddr = get("PPROF_ADDR", "")
	if cfg.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.PprofAddr); err != nil {
			fail(fmt.Errorf("PPROF_ADDR must be HOST:PORT or :PORT, got %q", cfg.PprofAddr))
		}
	}

	h := &cfg.HTTP
	h.ReadTimeout = duration(get, "HTTP_READ_TIMEOUT", 10*time.Second, fail)
	h.WriteTimeout = duration(get, "HTTP_WRITE_TIMEOUT", 30*time.Second, fail)
	h.ShutdownTimeout = duration(get, "SHUTDOWN_TIMEOUT", 10*time.Second, fail)
	h.ProxyHeader = get("PROXY_HEADER", "")
	idle, conns := 30*time.Second, 64
	if h.ProxyHeader != "" {
		idle, conns = 120*time.Second, 0
	}
	h.IdleTimeout = duration(get, "HTTP_IDLE_TIMEOUT", idle, fail)
	h.MaxConnsPerIP = count(get, "HTTP_MAX_CONNS_PER_IP", conns, fail)
	h.ProxyHops = count(get, "PROXY_HOPS", 1, fail)
	switch {
	case h.ProxyHops < 1:
		fail(errors.New("PROXY_HOPS must be at least 1: the number of proxies that append to PROXY_HEADER"))
	case h.ProxyHeader == "" && get("PROXY_HOPS", "") != "":
		fail(errors.New("PROXY_HOPS only applies when PROXY_HEADER is set"))
	}

	cfg.RateLimit.PerMinute = count(get, "RATE_LIMIT_PER_MINUTE", 1200, fail)
	cfg.RateLimit.Burst = count(get, "RATE_LIMIT_BURST", cfg.RateLimit.PerMinute, fail)
	if cfg.RateLimit.PerMinute > 0 && cfg.RateLimit.Burst < 1 {
		fail(errors.New("RATE_LIMIT_BURST must be at least 1 while RATE_LIMIT_PER_MINUTE is on"))
	}

	cfg.MaxListsPerUser = count(get, "MAX_LISTS_PER_USER", DefaultMaxListsPerUser, fail)
	if cfg.MaxListsPerUser < 1 {
		fail(errors.New("MAX_LISTS_PER_USER must be at least 1"))
	}

	cfg.Events.PerUser = count(get, "EVENTS_PER_USER", DefaultEventsPerUser, fail)
	cfg.Events.Max = count(get, "EVENTS_MAX", DefaultEventsMax, fail)
	if cfg.Events.PerUser < 1 {
		fail(errors.New("EVENTS_PER_USER must be at least 1"))
	}
	if cfg.Events.Max < 1 {
		fail(errors.New("EVENTS_MAX must be at least 1"))
	}

	f := &cfg.InFlight
	f.PerUser = count(get, "USER_MAX_IN_FLIGHT", 4, fail)
	f.CostlyPerUser = count(get, "USER_MAX_COSTLY_IN_FLIGHT", 2, fail)
	f.Wait = duration(get, "USER_IN_FLIGHT_WAIT", 250*time.Millisecond, fail)
	if f.PerUser > 0 && (f.CostlyPerUser < 1 || f.CostlyPerUser > f.PerUser) {
		fail(fmt.Errorf("USER_MAX_COSTLY_IN_FLIGHT must be between 1 and USER_MAX_IN_FLIGHT (%d)", f.PerUser))
	}

	d := &cfg.Database
	d.Timeout = duration(get, "DB_TIMEOUT", 5*time.Second, fail)
	d.MaxConns = count(get, "DB_MAX_CONNS", 20, fail)
	if d.MaxConns < 1 {
		fail(errors.New("DB_MAX_CONNS must be at least 1"))
	}
	d.Quotas.Tasks = count(get, "MAX_TASKS_PER_USER", DefaultMaxTasksPerUser, fail)
	d.Quotas.IdempotencyKeys = count(get, "MAX_IDEMPOTENCY_KEYS_PER_USER", DefaultMaxIdempotencyKeysPerUser, fail)
	d.ChangesRetention = duration(get, "CHANGES_RETENTION", DefaultChangesRetention, fail)
	if d.ChangesRetention < MinChangesRetention {
		fail(fmt.Errorf("CHANGES_RETENTION must be at least %s, got %s", MinChangesRetention, d.ChangesRetention))
	}
	d.QueryExecMode = get("DB_QUERY_EXEC_MODE", DefaultQueryExecMode)
	if !contains(QueryExecModes, d.QueryExecMode) {
		fail(fmt.Errorf("DB_QUERY_EXEC_MODE must be one of %s, got %q", strings.Join(QueryExecModes, ", "), d.QueryExecMode))
	}
	if raw := get("DATABASE_MIGRATION_URL", ""); raw != "" {
		switch {
		case d.Driver != Postgres:
			fail(errors.New("DATABASE_MIGRATION_URL only applies when DATABASE_URL is a postgres:// URL"))
		case !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://"):
			fail(errors.New("DATABASE_MIGRATION_URL must be a postgres:// URL"))
		default:
			if _, err := url.Parse(raw); err != nil {
				fail(errors.New("DATABASE_MIGRATION_URL is not a valid postgres:// URL"))
			}
			d.MigrationDSN = raw
		}
	}
	return errs
}

// DefaultMaxListsPerUser is Todoist's ceiling of projects on its paid plan.
const DefaultMaxListsPerUser = 300

// duration reads a Go duration ("10s", "1m30s") or a whole number of seconds.
func duration(get func(string, string) string, key string, def time.Duration, fail func(error)) time.Duration {
	raw := get(key, "")
	if raw == "" {
		return def
	}
	if n, err := strconv.Atoi(raw); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		fail(fmt.Errorf("%s must be a positive duration such as 10s or 500ms, got %q", key, raw))
		return def
	}
	return d
}

// count reads a non-negative integer.
func count(get func(string, string) string, key string, def int, fail func(error)) int {
	raw := get(key, "")
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		fail(fmt.Errorf("%s must be a whole number ≥ 0, got %q", key, raw))
		return def
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
