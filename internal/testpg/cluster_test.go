package testpg

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestClusterStopStart(t *testing.T) {
	c := NewCluster(t)
	if c.URL() == AdminURL(t) {
		t.Fatal("the test's own cluster is the shared one")
	}
	dsn := c.NewDatabase(t)
	psql(t, dsn, "CREATE TABLE t (id int); INSERT INTO t VALUES (7)")

	c.Stop(t)
	if _, err := runPSQL(c.s.psql, dsn, "SELECT 1"); err == nil {
		t.Fatal("the stopped cluster still answers")
	}
	c.Start(t)
	if got := psql(t, dsn, "SELECT id FROM t"); got != "7" {
		t.Errorf("after a restart: %q", got)
	}
}

// TestPooler runs only in the pooled pass (TEST_DATABASE_POOLER=pgbouncer):
// URLs must lead through a PgBouncer in transaction mode.
func TestPooler(t *testing.T) {
	if os.Getenv(envPooler) != "pgbouncer" {
		t.Skip("TEST_DATABASE_POOLER is not pgbouncer")
	}
	dsn := NewDatabase(t)
	u, _ := url.Parse(dsn)
	admin, _ := url.Parse(AdminURL(t))
	if u.Port() == admin.Port() {
		t.Fatalf("%s does not go through the pooler", dsn)
	}
	// PgBouncer's admin console answers SHOW CONFIG.
	console := *u
	console.Path = "/pgbouncer"
	out := psql(t, console.String(), "SHOW CONFIG")
	var mode string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(line, "|"); len(f) > 1 && f[0] == "pool_mode" {
			mode = f[1]
		}
	}
	if mode != "transaction" {
		t.Errorf("pool_mode %q, want transaction", mode)
	}
	if _, err := net.Dial("tcp", u.Host); err != nil {
		t.Fatal(err)
	}
	psql(t, dsn, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
	if got := psql(t, dsn, "SELECT count(*) FROM t"); got != "1" {
		t.Errorf("count %q", got)
	}
}
