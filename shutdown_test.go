package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to check the rows

	"todo-api/internal/testpg"
)

// TestGracefulShutdown sends SIGTERM to the real binary while clients keep
// creating tasks, at a moment when every client has a create in flight
// (held up by a table lock). Every create answered 2xx must be in the
// database afterwards, the in-flight ones must be answered, not dropped, and
// no client may see a reset connection: once the server stops accepting,
// the only error allowed is a refused connection.
func TestGracefulShutdown(t *testing.T) {
	const writers = 12
	bin := binary(t)
	dsn := testpg.NewDatabase(t)
	in := launch(t, bin, "DATABASE_URL="+dsn, "SHUTDOWN_TIMEOUT=10s", "RATE_LIMIT_PER_MINUTE=0")
	in.ready()

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	type ack struct {
		title string
		at    time.Time
	}
	var (
		mu        sync.Mutex
		acks      []ack
		failures  []string
		refusedAt []time.Time
	)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("writer-%d", w)
			tok := token(t, user)
			// Keep-alive connections, as a proxy in front would hold them.
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 20 * time.Second}
			for n := 0; ; n++ {
				title := fmt.Sprintf("%s #%d", user, n)
				r, err := do(client, "POST", in.base+"/api/"+user+"/tasks", tok, mustJSONTitle(title))
				mu.Lock()
				switch {
				case err == nil && r.status == http.StatusCreated:
					acks = append(acks, ack{title, time.Now()})
				case err != nil && errors.Is(err, syscall.ECONNREFUSED):
					refusedAt = append(refusedAt, time.Now())
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s at %s: %v", title, time.Now().Format("15:04:05.000"), err))
				default:
					failures = append(failures, fmt.Sprintf("%s: %d %s", title, r.status, r.body))
				}
				mu.Unlock()
				if err != nil || r.status != http.StatusCreated {
					return
				}
			}
		}()
	}

	// Let the writers run, then hold every create up with a lock, so that
	// each writer has one in flight when the signal comes.
	time.Sleep(300 * time.Millisecond)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE tasks IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every writer blocked", func() bool {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'tasks' AND NOT l.granted`).Scan(&n)
		return n >= writers
	})
	mu.Lock()
	before := len(acks)
	mu.Unlock()
	sigterm := time.Now()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The creates stay blocked a while after the signal, as a slow query would.
	time.Sleep(700 * time.Millisecond)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.done:
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15 s after SIGTERM (SHUTDOWN_TIMEOUT is 10 s)")
	}
	if in.err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", in.err)
	}
	wg.Wait()

	if len(failures) > 0 {
		t.Errorf("clients saw %d errors other than a refused connection:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	inFlight := 0
	for _, a := range acks {
		if a.at.After(sigterm) {
			inFlight++
		}
	}
	if inFlight < writers {
		t.Errorf("%d creates answered after SIGTERM, want every writer's in-flight one (%d)", inFlight, writers)
	}
	if len(refusedAt) != writers {
		t.Errorf("%d writers ended on a refused connection, want %d", len(refusedAt), writers)
	}
	rows, err := db.Query("SELECT title FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var title string
		if err := rows.Scan(&title); err != nil {
			t.Fatal(err)
		}
		stored[title] = true
	}
	for _, a := range acks {
		if !stored[a.title] {
			t.Errorf("acknowledged %q is not in the database", a.title)
		}
	}
	t.Logf("%d creates acknowledged (%d before the lock, %d after SIGTERM), %d rows stored", len(acks), before, inFlight, len(stored))
	for _, want := range []string{`"msg":"shutting down"`, `"signal":"terminated"`, `"msg":"stopped"`} {
		if !strings.Contains(in.out.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
	}
}
