package blackbox_test

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
	dsn := testpg.NewDatabase(t)
	svc := start(t, "DATABASE_URL="+dsn, "SHUTDOWN_TIMEOUT=10s", "RATE_LIMIT_PER_MINUTE=0")
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	w := &shutdownWriters{perWriter: make([]int, writers)}
	var wg sync.WaitGroup
	for n := range writers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(t, svc, n) }()
	}
	// Every writer on its keep-alive connection with a create stored, then
	// every create held up by a lock, so that each has one in flight when
	// the signal comes.
	if !eventually(15*time.Second, w.allAcknowledged) {
		t.Fatal("not every writer had a create acknowledged within 15 s")
	}
	tx := holdCreates(t, db, writers)
	before := w.count()
	sigterm := time.Now()
	svc.send(syscall.SIGTERM)
	// The creates stay blocked until the server has stopped accepting, as
	// a slow query would: they must still be answered.
	if !eventually(15*time.Second, func() bool { return refused("127.0.0.1:" + svc.port) }) {
		t.Fatal("still accepting connections 15 s after SIGTERM")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := svc.wait(15 * time.Second); err != nil { // SHUTDOWN_TIMEOUT is 10 s
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	wg.Wait()

	inFlight := w.check(t, writers, sigterm)
	stored := storedTitles(t, db)
	for _, a := range w.acks {
		if !stored[a.title] {
			t.Errorf("acknowledged %q is not in the database", a.title)
		}
	}
	t.Logf("%d creates acknowledged (%d before the lock, %d after SIGTERM), %d rows stored", len(w.acks), before, inFlight, len(stored))
	for _, want := range []string{`"msg":"shutting down"`, `"signal":"terminated"`, `"msg":"stopped"`} {
		if !strings.Contains(svc.out.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// shutdownWriters is what the writers of TestGracefulShutdown saw.
type shutdownWriters struct {
	mu        sync.Mutex
	acks      []ack
	perWriter []int // acknowledged creates of each writer
	failures  []string
	refusedAt []time.Time
}

// ack is an acknowledged create.
type ack struct {
	title string
	at    time.Time
}

// run is writer n: creates, one after the other, until one is not a 201.
func (w *shutdownWriters) run(t *testing.T, svc *service, n int) {
	user := fmt.Sprintf("writer-%d", n)
	tok := token(t, user)
	// Keep-alive connections, as a proxy in front would hold them.
	c := &client{base: svc.base, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 20 * time.Second}}
	for i := 0; ; i++ {
		title := fmt.Sprintf("%s #%d", user, i)
		r := c.do("POST", "/api/"+user+"/tasks", tok, titleBody(title))
		w.mu.Lock()
		switch {
		case r.err == nil && r.status == http.StatusCreated:
			w.acks = append(w.acks, ack{title, time.Now()})
			w.perWriter[n]++
		case r.err != nil && errors.Is(r.err, syscall.ECONNREFUSED):
			w.refusedAt = append(w.refusedAt, time.Now())
		case r.err != nil:
			w.failures = append(w.failures, fmt.Sprintf("%s at %s: %v", title, time.Now().Format("15:04:05.000"), r.err))
		default:
			w.failures = append(w.failures, fmt.Sprintf("%s: %d %s", title, r.status, r.body))
		}
		w.mu.Unlock()
		if r.err != nil || r.status != http.StatusCreated {
			return
		}
	}
}

func (w *shutdownWriters) allAcknowledged() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.perWriter {
		if n == 0 {
			return false
		}
	}
	return true
}

func (w *shutdownWriters) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acks)
}

// check, once the writers are done: no error but a refused connection,
// every writer's in-flight create answered, every writer ended refused. It
// returns how many creates were answered after the signal.
func (w *shutdownWriters) check(t *testing.T, writers int, sigterm time.Time) int {
	t.Helper()
	if len(w.failures) > 0 {
		t.Errorf("clients saw %d errors other than a refused connection:\n%s", len(w.failures), strings.Join(w.failures, "\n"))
	}
	inFlight := 0
	for _, a := range w.acks {
		if a.at.After(sigterm) {
			inFlight++
		}
	}
	if inFlight < writers {
		t.Errorf("%d creates answered after SIGTERM, want every writer's in-flight one (%d)", inFlight, writers)
	}
	if len(w.refusedAt) != writers {
		t.Errorf("%d writers ended on a refused connection, want %d", len(w.refusedAt), writers)
	}
	return inFlight
}

// holdCreates locks the tasks table in a transaction and waits until n
// inserts wait on it; committing the transaction lets them go.
func holdCreates(t *testing.T, db *sql.DB, n int) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE tasks IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	if !eventually(15*time.Second, func() bool {
		var waiting int
		_ = db.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'tasks' AND NOT l.granted`).Scan(&waiting)
		return waiting >= n
	}) {
		t.Fatal("every writer blocked: not within 15 s")
	}
	return tx
}

// storedTitles is the title of every row of tasks.
func storedTitles(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query("SELECT title FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var title string
		if err := rows.Scan(&title); err != nil {
			t.Fatal(err)
		}
		stored[title] = true
	}
	return stored
}
