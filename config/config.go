// Package config reads the service's settings from the environment once, at
// start-up, into a typed Config. Nothing else in the program reads os.Getenv.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MinSecretBytes is the shortest HS256 secret accepted: RFC 7518 §3.2 asks for
// a key at least as long as the hash output.
const MinSecretBytes = 32

// Environments the service knows.
const (
	Development = "development"
	Production  = "production"
)

// Driver names for Database.Driver.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Config is every setting the service runs with.
type Config struct {
	Port     int
	Env      string
	Database Database
	Auth     Auth
	// CORSOrigins are the browser origins allowed to call the API.
	CORSOrigins []string

	Log       Log
	HTTP      HTTP
	RateLimit RateLimit
	InFlight  InFlight
	// MetricsAddr serves /metrics on its own listener (say :9091) instead of
	// on PORT, so that it need not be public; empty keeps it on PORT.
	MetricsAddr string
	// MaxListsPerUser caps the lists one user may have
	// (MAX_LISTS_PER_USER, default 300; 0 in a hand-built Config means
	// the default).
	MaxListsPerUser int
	// Events bounds the event streams (GET /api/{user_id}/events).
	Events Events
	// PprofAddr serves Go's profiler (net/http/pprof) on its own listener
	// when set (say 127.0.0.1:6060); off by default, and never on PORT.
	PprofAddr string
}

// Events bounds the event streams. A zero field in a hand-built Config
// means its default.
type Events struct {
	// PerUser caps one user's open streams (EVENTS_PER_USER, default 10).
	PerUser int
	// Max caps the open streams of the instance (EVENTS_MAX, default
	// 10,000: the 5,000 streams the service is measured with, twice over).
	Max int
	// Heartbeat is how often an idle stream sends a comment line (15 s),
	// so that proxies keep it open; tests shorten it.
	Heartbeat time.Duration
	// SlowReader is how long one write to a stream may wait for the client
	// to read before the stream is dropped (10 s).
	SlowReader time.Duration
}

// Defaults of Events.
const (
	DefaultEventsPerUser    = 10
	DefaultEventsMax        = 10000
	DefaultEventsHeartbeat  = 15 * time.Second
	DefaultEventsSlowReader = 10 * time.Second
)

// Database says which database to open.
type Database struct {
	// RowLevelSecurity turns on PostgreSQL row-level security on the
	// tasks tables as a second lock behind the user scope
	// (DB_ROW_LEVEL_SECURITY; see database/rls.go).
	RowLevelSecurity bool

	Driver string // Postgres or SQLite
	// DSN is the PostgreSQL URL, or the SQLite file path.
	DSN string
	// MigrationDSN, when set, is a direct (non-pooled) PostgreSQL URL used
	// only for the start-up migration.
	MigrationDSN string
	// Timeout is the deadline every request's database work runs under.
	Timeout time.Duration
	// MaxConns caps the connection pool.
	MaxConns int
	// QueryExecMode is pgx's default_query_exec_mode (one of QueryExecModes).
	QueryExecMode string
	// Quotas bound what one user may store; the database enforces them.
	Quotas Quotas
	// ChangesRetention is how long the change feed keeps tombstones
	// (CHANGES_RETENTION, default DefaultChangesRetention, at least
	// MinChangesRetention); a cursor older than what is kept is 410.
	// 0 in a hand-built Config means the default.
	ChangesRetention time.Duration
}

// The change feed's retention: SPEC.md promises at least 30 days by
// default. The minimum is what the row-level security policy lets the
// janitor purge (database/rlsmigrate.go), so that no setting can ask it
// for something the policy refuses; below an hour a client that sleeps
// over lunch would start over.
const (
	DefaultChangesRetention = 30 * 24 * time.Hour
	MinChangesRetention     = time.Hour
)

// Quotas are per-user caps on stored rows, so that no user can fill the
// database. 0 turns a cap off.
type Quotas struct {
	// Tasks caps a user's tasks (MAX_TASKS_PER_USER).
	Tasks int
	// IdempotencyKeys caps a user's stored idempotency records, which live
	// 24 hours (MAX_IDEMPOTENCY_KEYS_PER_USER).
	IdempotencyKeys int
}

// Default quotas. 20,000 tasks is what Google Tasks allows in one list: far
// more than a person keeps, and at about 1 KiB a task 20 MiB a user.
// 10,000 idempotency records is a keyed create every nine seconds for 24
// hours, each kept that long.
const (
	DefaultMaxTasksPerUser           = 20000
	DefaultMaxIdempotencyKeysPerUser = 10000
)

// Auth says how bearer tokens are verified.
type Auth struct {
	// Secret verifies HS256 tokens; nil when HS256 is off.
	Secret []byte
	// SecretGenerated is true when Secret was made up for this process
	// because development mode started without any auth configured.
	SecretGenerated bool
	// BetterAuthURL is the Better Auth server whose JWKS verifies asymmetric tokens.
	BetterAuthURL string
	JWKSURL       string
	Issuer        string
	Audience      string
	// Algorithms are the signature algorithms a JWKS-verified token may use
	// (JWT_ALGORITHMS); HS256 is never among them, it belongs to Secret.
	Algorithms []string
	// Leeway is the clock skew tolerated on exp and nbf.
	Leeway time.Duration
	// ExplainRefusals makes a 401's detail name the check the token failed
	// (issuer X is not the expected Y, ...); on in development only, so that
	// production tells a prober nothing about its configuration.
	ExplainRefusals bool
}

// DefaultAlgorithms are the algorithms Better Auth's JWT plugin can sign with:
// EdDSA (Ed25519) by default, the others when configured. A function, so
// that no caller can change the default for everyone.
func DefaultAlgorithms() []string { return []string{"EdDSA", "ES256", "ES512", "PS256", "RS256"} }

// asymmetricAlgorithms are the JWS algorithms JWT_ALGORITHMS may name: every
// public-key algorithm golang-jwt verifies. HMAC and "none" are left out, so
// that a key from the key set can never be used as an HMAC secret.
func asymmetricAlgorithms() []string {
	return []string{"EdDSA", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}
}

// Lookup reads one environment variable; os.LookupEnv in main, a map in tests.
type Lookup func(key string) (string, bool)

// Load builds a Config from the environment and checks it. The error says which
// variable to change.
func Load(env Lookup) (Config, error) {
	get := func(key, def string) string {
		if v, ok := env(key); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	var cfg Config
	var errs []error

	cfg.Env = get("APP_ENV", Development)
	if cfg.Env != Development && cfg.Env != Production {
		errs = append(errs, fmt.Errorf("APP_ENV must be %q or %q, got %q", Development, Production, cfg.Env))
	}

	port, err := strconv.Atoi(get("PORT", "8000"))
	if err != nil || port < 1 || port > 65535 {
		errs = append(errs, fmt.Errorf("PORT must be a TCP port number (1-65535)"))
	}
	cfg.Port = port

	rawDatabaseURL := get("DATABASE_URL", "")
	cfg.Database, err = parseDatabaseURL(rawDatabaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	// A container's own file system does not survive a redeploy on Fly.io or
	// Render, so the development default ./todo.db would quietly lose every
	// task there: production has to name its database.
	if rawDatabaseURL == "" && cfg.Env == Production {
		errs = append(errs, errors.New("DATABASE_URL must be set when APP_ENV=production: "+
			"postgres://USER:PASSWORD@HOST/DB for PostgreSQL, or sqlite:/PATH/todo.db for SQLite on a persistent volume "+
			"(the default ./todo.db is lost on every redeploy)"))
	}
	if cfg.Database.RowLevelSecurity, err = parseRowLevelSecurity(get("DB_ROW_LEVEL_SECURITY", ""), cfg.Database); err != nil {
		errs = append(errs, err)
	}

	cfg.Auth, err = loadAuth(get, cfg.Env)
	if err != nil {
		errs = append(errs, err)
	}

	for _, o := range strings.Split(get("CORS_ORIGINS", "http://localhost:3000"), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}

	errs = append(errs, loadOps(get, &cfg)...)
	return cfg, errors.Join(errs...)
}

func loadAuth(get func(string, string) string, env string) (Auth, error) {
	a := Auth{
		BetterAuthURL:   strings.TrimRight(get("BETTER_AUTH_URL", ""), "/"),
		Leeway:          30 * time.Second,
		ExplainRefusals: env == Development,
	}
	a.JWKSURL = get("BETTER_AUTH_JWKS_URL", "")
	if a.JWKSURL == "" && a.BetterAuthURL != "" {
		a.JWKSURL = a.BetterAuthURL + "/api/auth/jwks"
	}
	// Better Auth's JWT plugin sets both iss and aud to its base URL.
	a.Issuer = get("JWT_ISSUER", a.BetterAuthURL)
	a.Audience = get("JWT_AUDIENCE", a.BetterAuthURL)
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"BETTER_AUTH_URL", a.BetterAuthURL},
		{"BETTER_AUTH_JWKS_URL", a.JWKSURL},
	} {
		if v.value != "" && !httpURL(v.value) {
			errs = append(errs, fmt.Errorf("%s must be an http:// or https:// URL, got %q", v.name, v.value))
		}
	}
	algs, err := parseAlgorithms(get("JWT_ALGORITHMS", ""))
	if err != nil {
		errs = append(errs, err)
	}
	a.Algorithms = algs
	if len(errs) > 0 {
		return a, errors.Join(errs...)
	}

	if secret := get("BETTER_AUTH_SECRET", ""); secret != "" {
		if len(secret) < MinSecretBytes {
			return a, fmt.Errorf("BETTER_AUTH_SECRET must be at least %d bytes (it is %d); generate one with: openssl rand -base64 32", MinSecretBytes, len(secret))
		}
		a.Secret = []byte(secret)
	}
	if a.Secret != nil || a.JWKSURL != "" {
		return a, nil
	}
	if env == Production {
		return a, errors.New("no token verification configured: set BETTER_AUTH_SECRET (HS256, at least 32 bytes) or BETTER_AUTH_URL (Better Auth JWKS) when APP_ENV=production")
	}
	// Development without auth still starts, with a secret nobody else knows,
	// so that `go run .` works on a fresh clone and prints a usable token.
	a.Secret = make([]byte, MinSecretBytes)
	if _, err := rand.Read(a.Secret); err != nil {
		return a, fmt.Errorf("generating a development secret: %w", err)
	}
	a.SecretGenerated = true
	return a, nil
}

// parseAlgorithms reads JWT_ALGORITHMS, a comma-separated list; empty means
// DefaultAlgorithms.
func parseAlgorithms(raw string) ([]string, error) {
	if raw == "" {
		return DefaultAlgorithms(), nil
	}
	var algs []string
	for _, alg := range strings.Split(raw, ",") {
		alg = strings.TrimSpace(alg)
		switch {
		case alg == "":
			continue
		case strings.HasPrefix(strings.ToUpper(alg), "HS"):
			return nil, fmt.Errorf("JWT_ALGORITHMS lists %s: HMAC tokens are verified with BETTER_AUTH_SECRET only, never with a key from the key set", alg)
		case !slices.Contains(asymmetricAlgorithms(), alg):
			return nil, fmt.Errorf("JWT_ALGORITHMS lists %q; choose from %s", alg, strings.Join(asymmetricAlgorithms(), ", "))
		}
		if !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	if len(algs) == 0 {
		return nil, errors.New("JWT_ALGORITHMS names no algorithm")
	}
	return algs, nil
}

func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// parseDatabaseURL picks the driver from the URL's scheme; empty means the
// embedded SQLite file todo.db in the working directory (development only;
// Load refuses it in production).
func parseDatabaseURL(raw string) (Database, error) {
	switch {
	case raw == "":
		return Database{Driver: SQLite, DSN: "todo.db"}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			// url.Parse errors quote the whole URL, password included.
			return Database{}, errors.New("DATABASE_URL is not a valid postgres:// URL")
		}
		return Database{Driver: Postgres, DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite:"), strings.HasPrefix(raw, "file:"):
		path := raw[strings.Index(raw, ":")+1:]
		path = strings.TrimPrefix(path, "//")
		// The service sets its own pragmas (WAL, busy timeout); a query string
		// from the URL would only fight them.
		path, _, _ = strings.Cut(path, "?")
		if path == "" {
			return Database{}, errors.New("DATABASE_URL sqlite:PATH needs a file path")
		}
		return Database{Driver: SQLite, DSN: path}, nil
	}
	return Database{}, errors.New("DATABASE_URL must start with postgres://, postgresql://, sqlite: or file:")
}

// DirectDSN is where a connection goes that a transaction-mode pooler
// cannot carry (a LISTEN, a concurrent index build): DATABASE_MIGRATION_URL
// when a pooler fronts DATABASE_URL, else DATABASE_URL itself.
func (d Database) DirectDSN() string {
	if d.MigrationDSN != "" {
		return d.MigrationDSN
	}
	return d.DSN
}

// Redacted returns the DSN with any password replaced, for logs and start-up output.
func (d Database) Redacted() string {
	if d.Driver != Postgres {
		return d.DSN
	}
	u, err := url.Parse(d.DSN)
	if err != nil {
		return "postgres://(unparseable)"
	}
	return u.Redacted()
}
