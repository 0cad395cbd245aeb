// Command todo-api serves the multi-user task API.
//
//	todo-api              run the service (PORT, DATABASE_URL, ... from the environment or .env)
//	todo-api token USER   print an HS256 token for USER signed with BETTER_AUTH_SECRET
//	todo-api healthcheck  exit 0 if the instance on PORT answers /healthz (the container's HEALTHCHECK)
//	todo-api version      print the version and commit the binary was built from
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
	// The zone database inside the binary: stats?tz= must work in a
	// container image that has no /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/joho/godotenv"

	"todo-api/config"
	"todo-api/database"
	"todo-api/events"
	"todo-api/jwks"
	"todo-api/metrics"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/server"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "todo-api:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		b := build()
		fmt.Fprintf(stdout, "todo-api %s (commit %s, %s)\n", b.Version, b.Commit, runtime.Version())
		return nil
	}
	// .env is optional; variables already in the environment win over it.
	if err := godotenv.Load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading .env: %w", err)
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	clock := models.Clock(time.Now)

	if len(args) > 0 {
		switch args[0] {
		case "token":
			return printToken(cfg, clock, args[1:], stdout)
		case "healthcheck":
			return healthcheck(cfg, args[1:], stdout)
		case "serve":
		default:
			return fmt.Errorf("unknown command %q; commands: serve (default), token USER, healthcheck, version", args[0])
		}
	}
	return serve(cfg, clock, stdout, stderr)
}

func printToken(cfg config.Config, clock models.Clock, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	ttl := fs.Duration("ttl", time.Hour, "how long the token stays valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: todo-api token [-ttl 1h] USER")
	}
	if cfg.Auth.SecretGenerated {
		return errors.New("BETTER_AUTH_SECRET is not set: a token needs the secret the service verifies with (put it in .env)")
	}
	token, err := middleware.Sign(cfg.Auth, fs.Arg(0), clock.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

func serve(cfg config.Config, clock models.Clock, stdout, stderr io.Writer) error {
	log := newLogger(cfg.Log, stdout)
	b := build()
	reg := metrics.New(b)

	db, err := database.Open(cfg.Database, clock, log)
	if err != nil {
		return err
	}
	defer func() { _ = database.Close(db) }()
	if sqlDB, err := db.DB(); err == nil {
		if err := reg.WatchDB(sqlDB, "todo"); err != nil {
			return err
		}
	}

	// Ends the JWKS refresh goroutine on the way out.
	keysCtx, stopKeys := context.WithCancel(context.Background())
	defer stopKeys()
	verifier := middleware.NewVerifier(cfg.Auth, clock)
	var readiness []server.ReadinessCheck
	if cfg.Auth.JWKSURL != "" {
		keys := jwks.New(jwks.Options{URL: cfg.Auth.JWKSURL, Log: log, OnFetch: reg.JWKSRefreshed})
		keys.Start(keysCtx)
		verifier.WithKeySource(keys.Keyfunc, cfg.Auth.Algorithms...)
		readiness = append(readiness, server.KeySetCheck(keys.Ready))
	}
	logVerification(log, cfg.Auth)

	// One write door for the handlers and the reminder scheduler. On
	// PostgreSQL every instance's commits wake the streams, through one
	// LISTEN connection (database/notify.go); on SQLite, where this
	// instance is the only writer, the door does, in-process.
	store := database.NewStore(db)
	hub := events.NewHub(cfg.Events.PerUser, cfg.Events.Max)
	if cfg.Database.Driver == config.Postgres {
		listenCtx, stopListen := context.WithCancel(context.Background())
		defer stopListen()
		go func() { _ = database.Listen(listenCtx, cfg.Database.DirectDSN(), log, hub.Notify, hub.WakeAll) }()
	} else {
		store.OnCommit(hub.Notify)
	}

	drain := server.NewDrain()
	app := server.New(server.Deps{
		Config:    cfg,
		DB:        db,
		Log:       log,
		Clock:     clock,
		Verifier:  verifier,
		Metrics:   reg,
		Readiness: readiness,
		Drain:     drain,
		Store:     store,
		Events:    hub,
	})

	// Expired idempotency records are never replayed; the janitor only
	// keeps the table from growing. It stops with the server.
	janitorCtx, stopJanitor := context.WithCancel(context.Background())
	defer stopJanitor()
	go database.Janitor(janitorCtx, db, clock, time.Hour, log)
	// Tombstones older than CHANGES_RETENTION go; every instance may purge.
	go database.ChangesJanitor(janitorCtx, db, clock, cfg.Database.ChangesRetention, time.Hour, log)
	// The first start after an upgrade of a large database builds the
	// search indexes now, concurrently, not in the migration (database/search.go).
	if cfg.Database.Driver == config.Postgres {
		go database.BuildSearchIndexes(janitorCtx, cfg.Database, log)
	}

	// Every instance fires reminders; none leads (database/reminders.go).
	// A firing is a change: the streams send it from the feed as a
	// task.updated and a reminder event (controllers/events.go), woken as
	// for any write. The loop ends before the pool closes.
	remindCtx, stopReminders := context.WithCancel(context.Background())
	remindersDone := make(chan struct{})
	defer func() { stopReminders(); <-remindersDone }()
	reminders := database.NewReminders(store, clock, func(user string, t models.Task, late bool) {
		reg.ReminderFired(late)
		log.Info("reminder fired", "task_id", t.ID, "late", late)
	}, log)
	go func() { defer close(remindersDone); reminders.Run(remindCtx) }()

	addr := net.JoinHostPort("", strconv.Itoa(cfg.Port))
	ln, err := server.Listen(addr, cfg.HTTP.MaxConnsPerIP)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	metricsSrv, err := serveMetrics(cfg.MetricsAddr, reg)
	if err != nil {
		return err
	}
	pprofSrv, err := servePprof(cfg.PprofAddr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env,
		"version", b.Version, "commit", b.Commit,
		"database", cfg.Database.Driver, "dsn", cfg.Database.Redacted(),
		"metrics_addr", cfg.MetricsAddr, "pprof_addr", cfg.PprofAddr, "rate_limit_per_minute", cfg.RateLimit.PerMinute)
	if cfg.Env == config.Development {
		if err := printWelcome(stderr, cfg, clock); err != nil {
			return err
		}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	select {
	case err := <-served:
		return err
	case sig := <-stop:
		// A second signal ends the process at once.
		signal.Reset(syscall.SIGINT, syscall.SIGTERM)
		log.Info("shutting down", "signal", sig.String(), "in_flight", drain.InFlight(),
			"timeout", cfg.HTTP.ShutdownTimeout.String())
	}
	// Stop accepting, finish in-flight requests, then close the pool and
	// exit 0, all within SHUTDOWN_TIMEOUT.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := drain.Shutdown(ctx, app, ln); err != nil {
		log.Warn("shutdown timeout reached; dropping the requests still running",
			"in_flight", drain.InFlight(), "error", err.Error())
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	if pprofSrv != nil {
		_ = pprofSrv.Close()
	}
	stopReminders()
	<-remindersDone
	if err := database.Close(db); err != nil {
		log.Warn("closing the database pool", "error", err.Error())
	}
	log.Info("stopped", "took_ms", time.Since(start).Milliseconds())
	return nil
}

// serveMetrics serves /metrics on addr when METRICS_ADDR is set, so that it
// can stay off the public port (Fly.io scrapes such a port privately).
func serveMetrics(addr string, reg *metrics.Registry) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	return serveAside("METRICS_ADDR", addr, mux)
}

// servePprof serves Go's profiler on addr when PPROF_ADDR is set, for
// profiling under load (bench/README.md); it is never on the public port.
func servePprof(addr string) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serveAside("PPROF_ADDR", addr, mux)
}

// serveAside serves handler on a listener of its own at addr, the value of
// the variable named, or does nothing when addr is empty.
func serveAside(variable, addr string, handler http.Handler) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s %s: %w", variable, addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// logVerification says at start-up which tokens the service accepts, so a
// misconfigured deployment shows in its first log lines.
func logVerification(log *slog.Logger, a config.Auth) {
	var modes []string
	switch {
	case a.SecretGenerated:
		modes = append(modes, "hs256 (random development secret)")
	case a.Secret != nil:
		modes = append(modes, "hs256 (BETTER_AUTH_SECRET)")
	}
	attrs := []any{}
	if a.JWKSURL != "" {
		modes = append(modes, "jwks")
		attrs = append(attrs, "jwks_url", a.JWKSURL, "jwks_algorithms", a.Algorithms)
	}
	unchecked := func(s string) string {
		if s == "" {
			return "(not checked)"
		}
		return s
	}
	attrs = append(attrs, "issuer", unchecked(a.Issuer), "audience", unchecked(a.Audience))
	log.Info("token verification", append([]any{"modes", modes}, attrs...)...)
}

// printWelcome tells a developer who just ran `go run .` how to call the API.
func printWelcome(w io.Writer, cfg config.Config, clock models.Clock) error {
	base := fmt.Sprintf("http://localhost:%d", cfg.Port)
	fmt.Fprintf(w, "\ntodo-api is listening on %s (database: %s %s)\n", base, cfg.Database.Driver, cfg.Database.Redacted())
	if cfg.Auth.JWKSURL != "" {
		fmt.Fprintf(w, "Tokens signed by Better Auth are verified with the keys at %s\n", cfg.Auth.JWKSURL)
		if cfg.Auth.BetterAuthURL != "" {
			fmt.Fprintf(w, "(a signed-in browser gets one from %s/api/auth/token)\n", cfg.Auth.BetterAuthURL)
		}
	}
	if !cfg.Auth.SecretGenerated {
		if cfg.Auth.Secret != nil {
			fmt.Fprintf(w, "Mint an HS256 token with: go run . token USER\n")
		}
		fmt.Fprintln(w)
		return nil
	}
	token, err := middleware.Sign(cfg.Auth, "demo", clock.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, `No BETTER_AUTH_SECRET or BETTER_AUTH_URL is set, so this process made up a
secret of its own. A token for the user "demo", valid for 24 hours while this
process runs:

  %[2]s

Try it:

  curl -s -X POST %[1]s/api/demo/tasks -H "Authorization: Bearer %[2]s" -H "Content-Type: application/json" -d '{"title":"Buy milk"}'
  curl -s %[1]s/api/demo/tasks -H "Authorization: Bearer %[2]s"

`, base, token)
	return nil
}
