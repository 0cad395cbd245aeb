package testpg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Cluster is a PostgreSQL server of one test's own, for tests that stop and
// start the server (outages) and so must not share the package's cluster.
type Cluster struct {
	s *server
}

// NewCluster starts a throwaway cluster that only the calling test uses; it
// is removed when the test ends. It needs the PostgreSQL server binaries
// even when TEST_DATABASE_URL is set, and skips the test without them (or
// fails it under REQUIRE_POSTGRES, like NewDatabase).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	binDir := findBinDir()
	if binDir == "" {
		if v := os.Getenv(envRequire); v != "" && v != "0" {
			t.Fatalf("testpg: PostgreSQL server binaries are required (%s=%s) for a cluster of the test's own, "+
				"but initdb/pg_ctl/postgres were not found", envRequire, v)
		}
		t.Skip("testpg: no PostgreSQL server binaries (initdb, postgres) for a cluster of the test's own; skipping")
	}
	s, err := startCluster(binDir)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	t.Cleanup(s.shutdown)
	return &Cluster{s: s}
}

// URL is the cluster's superuser URL to its "postgres" database. It stays
// the same across Stop and Start.
func (c *Cluster) URL() string { return c.s.adminURL }

// NewDatabase creates an empty database on this cluster and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := dbName(t.Name())
	if _, err := c.s.exec("CREATE DATABASE " + quoteIdent(name) + " TEMPLATE template0"); err != nil {
		t.Fatalf("testpg: create database %s: %v", name, err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.s.port, name)
}

// Stop shuts the server down the way an operator would ("fast": sessions are
// ended with an admin-shutdown error) and waits until it is gone.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.s.proc.Signal(syscall.SIGINT); err != nil { // SIGINT is postgres' fast shutdown
		t.Fatalf("testpg: stop: %v", err)
	}
	select {
	case <-c.s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("testpg: postgres still running 30 s after a fast shutdown\n%s", c.s.logTail())
	}
}

// Start starts the stopped server again on the same port, so URLs handed
// out before keep working.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	select {
	case <-c.s.exited:
	default:
		t.Fatal("testpg: Start on a running cluster")
	}
	logFile, err := os.OpenFile(c.s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// The port was ours until a moment ago; another process taking it in
	// between is possible but rare, and reported plainly.
	if err := c.s.startPostgres(c.s.port, c.s.sockDir, logFile); err != nil {
		t.Fatalf("testpg: restart on port %d: %v\n%s", c.s.port, err, c.s.logTail())
	}
}

// errNoPgBouncer means TEST_DATABASE_POOLER asked for PgBouncer but it is not installed.
var errNoPgBouncer = errors.New("TEST_DATABASE_POOLER=pgbouncer but no pgbouncer binary was found (apt-get install pgbouncer)")

func findPgBouncer() string {
	for _, p := range []string{"pgbouncer", "/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer"} {
		if filepath.IsAbs(p) {
			if isExecutable(p) {
				return p
			}
			continue
		}
		if path, err := lookPath(p); err == nil {
			return path
		}
	}
	return ""
}
