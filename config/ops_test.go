package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoadOps(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(Config) string
	}{
		{"defaults", map[string]string{}, "", func(c Config) string {
			if c.Log.Format != "" || c.Log.Level != slog.LevelInfo || c.MetricsAddr != "" || c.PprofAddr != "" ||
				c.HTTP != (HTTP{ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second, ShutdownTimeout: 10 * time.Second, ProxyHops: 1, MaxConnsPerIP: 64}) ||
				c.RateLimit != (RateLimit{PerMinute: 1200, Burst: 1200}) ||
				c.Database.Timeout != 5*time.Second || c.Database.MaxConns != 20 || c.Database.QueryExecMode != "cache_describe" || c.Database.MigrationDSN != "" ||
				c.Database.Quotas != (Quotas{Tasks: 20000, IdempotencyKeys: 10000}) || c.MaxListsPerUser != 300 ||
				c.Database.ChangesRetention != 720*time.Hour ||
				c.InFlight != (InFlight{PerUser: 4, CostlyPerUser: 2, Wait: 250 * time.Millisecond}) {
				return "unexpected defaults"
			}
			return ""
		}},
		{"set", map[string]string{
			"LOG_FORMAT": "TEXT", "LOG_LEVEL": "debug", "METRICS_ADDR": ":9091", "PPROF_ADDR": "127.0.0.1:6060",
			"HTTP_READ_TIMEOUT": "2s", "HTTP_WRITE_TIMEOUT": "3", "HTTP_IDLE_TIMEOUT": "1m", "SHUTDOWN_TIMEOUT": "25s",
			"PROXY_HEADER": "X-Forwarded-For", "PROXY_HOPS": "2", "HTTP_MAX_CONNS_PER_IP": "300",
			"RATE_LIMIT_PER_MINUTE": "600", "RATE_LIMIT_BURST": "50",
			"DATABASE_URL": "postgres://u@pooler/db", "DATABASE_MIGRATION_URL": "postgres://u@direct/db",
			"DB_TIMEOUT": "1500ms", "DB_MAX_CONNS": "5", "DB_QUERY_EXEC_MODE": "simple_protocol",
			"MAX_TASKS_PER_USER": "500", "MAX_IDEMPOTENCY_KEYS_PER_USER": "0", "MAX_LISTS_PER_USER": "50",
			"CHANGES_RETENTION":  "168h",
			"USER_MAX_IN_FLIGHT": "8", "USER_MAX_COSTLY_IN_FLIGHT": "3", "USER_IN_FLIGHT_WAIT": "1s",
		}, "", func(c Config) string {
			if c.Log.Format != LogText || c.Log.Level != slog.LevelDebug || c.MetricsAddr != ":9091" || c.PprofAddr != "127.0.0.1:6060" ||
				c.HTTP != (HTTP{ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second, IdleTimeout: time.Minute, ShutdownTimeout: 25 * time.Second,
					ProxyHeader: "X-Forwarded-For", ProxyHops: 2, MaxConnsPerIP: 300}) ||
				c.RateLimit != (RateLimit{PerMinute: 600, Burst: 50}) ||
				c.Database.Timeout != 1500*time.Millisecond || c.Database.MaxConns != 5 || c.Database.QueryExecMode != "simple_protocol" ||
				c.Database.MigrationDSN != "postgres://u@direct/db" || c.Database.Quotas != (Quotas{Tasks: 500}) || c.MaxListsPerUser != 50 ||
				c.Database.ChangesRetention != 7*24*time.Hour ||
				c.InFlight != (InFlight{PerUser: 8, CostlyPerUser: 3, Wait: time.Second}) {
				return "settings not taken"
			}
			return ""
		}},
		{"behind a proxy", map[string]string{"PROXY_HEADER": "Fly-Client-IP"}, "", func(c Config) string {
			// The proxy holds the clients' connections and pools its own to
			// the service: no per-address cap, and a longer idle timeout.
			if c.HTTP.IdleTimeout != 120*time.Second || c.HTTP.MaxConnsPerIP != 0 || c.HTTP.ProxyHops != 1 {
				return "proxy defaults not taken"
			}
			return ""
		}},
		{"burst follows the rate", map[string]string{"RATE_LIMIT_PER_MINUTE": "90"}, "", func(c Config) string {
			if c.RateLimit != (RateLimit{PerMinute: 90, Burst: 90}) {
				return "burst did not follow"
			}
			return ""
		}},
		{"rate limit off", map[string]string{"RATE_LIMIT_PER_MINUTE": "0"}, "", func(c Config) string {
			if c.RateLimit.PerMinute != 0 {
				return "not off"
			}
			return ""
		}},
		{"bad log format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT", nil},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL", nil},
		{"bad metrics address", map[string]string{"METRICS_ADDR": "9091"}, "METRICS_ADDR", nil},
		{"bad pprof address", map[string]string{"PPROF_ADDR": "6060"}, "PPROF_ADDR", nil},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT", nil},
		{"zero duration", map[string]string{"DB_TIMEOUT": "0s"}, "DB_TIMEOUT", nil},
		{"negative rate", map[string]string{"RATE_LIMIT_PER_MINUTE": "-1"}, "RATE_LIMIT_PER_MINUTE", nil},
		{"zero burst", map[string]string{"RATE_LIMIT_BURST": "0"}, "RATE_LIMIT_BURST", nil},
		{"zero proxy hops", map[string]string{"PROXY_HEADER": "X-Forwarded-For", "PROXY_HOPS": "0"}, "PROXY_HOPS", nil},
		{"proxy hops without a proxy header", map[string]string{"PROXY_HOPS": "2"}, "PROXY_HOPS", nil},
		{"negative connection cap", map[string]string{"HTTP_MAX_CONNS_PER_IP": "-1"}, "HTTP_MAX_CONNS_PER_IP", nil},
		{"zero pool", map[string]string{"DB_MAX_CONNS": "0"}, "DB_MAX_CONNS", nil},
		{"negative task quota", map[string]string{"MAX_TASKS_PER_USER": "-5"}, "MAX_TASKS_PER_USER", nil},
		{"task quota not a number", map[string]string{"MAX_TASKS_PER_USER": "20k"}, "MAX_TASKS_PER_USER", nil},
		{"zero lists", map[string]string{"MAX_LISTS_PER_USER": "0"}, "MAX_LISTS_PER_USER", nil},
		{"retention under an hour", map[string]string{"CHANGES_RETENTION": "59m"}, "CHANGES_RETENTION", nil},
		{"retention not a duration", map[string]string{"CHANGES_RETENTION": "30d"}, "CHANGES_RETENTION", nil},
		{"in-flight cap off", map[string]string{"USER_MAX_IN_FLIGHT": "0", "USER_MAX_COSTLY_IN_FLIGHT": "0"}, "", func(c Config) string {
			if c.InFlight.PerUser != 0 {
				return "not off"
			}
			return ""
		}},
		{"costly over the cap", map[string]string{"USER_MAX_IN_FLIGHT": "2", "USER_MAX_COSTLY_IN_FLIGHT": "3"}, "USER_MAX_COSTLY_IN_FLIGHT", nil},
		{"no costly slot", map[string]string{"USER_MAX_COSTLY_IN_FLIGHT": "0"}, "USER_MAX_COSTLY_IN_FLIGHT", nil},
		{"negative in-flight cap", map[string]string{"USER_MAX_IN_FLIGHT": "-1"}, "USER_MAX_IN_FLIGHT", nil},
		{"bad in-flight wait", map[string]string{"USER_IN_FLIGHT_WAIT": "briefly"}, "USER_IN_FLIGHT_WAIT", nil},
		{"bad exec mode", map[string]string{"DB_QUERY_EXEC_MODE": "prepared"}, "DB_QUERY_EXEC_MODE", nil},
		{"migration URL with SQLite", map[string]string{"DATABASE_MIGRATION_URL": "postgres://u@direct/db"}, "DATABASE_MIGRATION_URL", nil},
		{"migration URL not postgres", map[string]string{"DATABASE_URL": "postgres://u@h/db", "DATABASE_MIGRATION_URL": "mysql://x"}, "DATABASE_MIGRATION_URL", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(lookup(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(cfg); msg != "" {
				t.Errorf("%s: %+v", msg, cfg)
			}
		})
	}
}
