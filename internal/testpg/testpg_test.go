package testpg

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// psql runs sql against dsn the same way the package does, so the test
// needs no driver either.
func psql(t *testing.T, dsn, sql string) string {
	t.Helper()
	out, err := runPSQL(shared.psql, dsn, sql)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dbNameOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("NewDatabase returned an unparsable URL %q: %v", dsn, err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func TestNewDatabaseIsIsolatedAndDropped(t *testing.T) {
	var nameA, nameB string
	var sleeper *exec.Cmd
	sleeperDone := make(chan error, 1)

	t.Run("isolated", func(t *testing.T) {
		a := NewDatabase(t)
		b := NewDatabase(t)
		nameA, nameB = dbNameOf(t, a), dbNameOf(t, b)
		if nameA == nameB {
			t.Fatalf("two calls returned the same database %q", nameA)
		}

		psql(t, a, "CREATE TABLE only_in_a (id int)")
		if got := psql(t, a, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); got != "1" {
			t.Fatalf("table not visible in its own database: count = %q", got)
		}
		if got := psql(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); got != "0" {
			t.Fatalf("table created in %s is visible in %s: count = %q", nameA, nameB, got)
		}

		// Leave a session open on a, as a test that forgets to close its
		// pool would: the drop must still succeed.
		sleeper = exec.Command(shared.psql, "-X", "-q", "-d", a, "-c", "SELECT pg_sleep(120)")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { sleeperDone <- sleeper.Wait() }()
		waitFor(t, func() bool {
			return psql(t, AdminURL(t), fmt.Sprintf(
				"SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'", nameA)) == "1"
		})
	})
	if nameA == "" {
		return // skipped or failed before creating anything
	}

	admin := AdminURL(t)
	for _, name := range []string{nameA, nameB} {
		if got := psql(t, admin, "SELECT 1 FROM pg_database WHERE datname = '"+name+"'"); got != "" {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
	select {
	case err := <-sleeperDone:
		if err == nil {
			t.Error("open session on a dropped database ended without error")
		}
	case <-time.After(10 * time.Second):
		_ = sleeper.Process.Kill()
		t.Error("open session survived DROP DATABASE ... WITH (FORCE)")
	}
}

func TestNewDatabaseURLShape(t *testing.T) {
	dsn := NewDatabase(t)
	if os.Getenv(envURL) != "" {
		t.Skip("shape is only fixed for the throwaway cluster")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "postgres" || u.User.Username() != "postgres" || u.Hostname() != "127.0.0.1" ||
		u.Port() == "" || u.Query().Get("sslmode") != "disable" {
		t.Errorf("unexpected URL %q", dsn)
	}
}

func TestNewDatabaseParallel(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			dsn := NewDatabase(t)
			psql(t, dsn, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
			if got := psql(t, dsn, "SELECT count(*) FROM t"); got != "1" {
				t.Errorf("count = %q", got)
			}
		})
	}
}

func TestDBNameIsValidIdentifier(t *testing.T) {
	long := strings.Repeat("VeryLong/Sub Test-Name ", 20)
	seen := map[string]bool{}
	for range 100 {
		n := dbName(long)
		if len(n) > 63 {
			t.Fatalf("name %q is %d bytes, over PostgreSQL's 63", n, len(n))
		}
		if strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Fatalf("name %q has characters needing care", n)
		}
		if seen[n] {
			t.Fatalf("duplicate name %q", n)
		}
		seen[n] = true
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
