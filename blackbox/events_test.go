package blackbox_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"todo-api/internal/testpg"
)

// sse is an open event stream of the built binary, parsed by a goroutine.
type sse struct {
	t      *testing.T
	events chan [3]string // id, event, data; heartbeats are left out
	stop   context.CancelFunc
}

// openEvents opens GET /api/me/events on base for tok, resuming after
// lastID when it is not empty.
func openEvents(t *testing.T, base, tok, lastID string) *sse {
	t.Helper()
	s, res, err := dialEvents(t, base, tok, lastID)
	if s == nil {
		t.Fatalf("opening the stream on %s: %v %v", base, res, err)
	}
	return s
}

// dialEvents is openEvents that reports a refusal instead of failing the
// test: a nil stream with the response (its body read) or the error.
func dialEvents(t *testing.T, base, tok, lastID string) (*sse, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/me/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if res.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		cancel()
		return nil, res, nil
	}
	s := &sse{t: t, events: make(chan [3]string, 1000), stop: cancel}
	go func() {
		defer close(s.events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev [3]string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && ev[1] != "":
				s.events <- ev
				ev = [3]string{}
			case strings.HasPrefix(line, "id: "):
				ev[0] = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev[1] = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev[2] = line[6:]
			}
		}
	}()
	t.Cleanup(cancel)
	return s, res, nil
}

// next is the next event within 5 s; ok false when the stream ended.
func (s *sse) next() (ev [3]string, ok bool) {
	s.t.Helper()
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(5 * time.Second):
		s.t.Fatal("no event within 5 s")
		return ev, false
	}
}

// created expects task.created events of exactly ids, in order, and
// returns the last one's id (cursor).
func (s *sse) created(ids ...int64) string {
	s.t.Helper()
	last := ""
	for _, want := range ids {
		ev, ok := s.next()
		var data struct {
			Task struct {
				ID int64 `json:"id"`
			} `json:"task"`
		}
		if !ok || ev[1] != "task.created" || json.Unmarshal([]byte(ev[2]), &data) != nil || data.Task.ID != want {
			s.t.Fatalf("got %v (stream open: %v); want task.created of %d", ev, ok, want)
		}
		last = ev[0]
	}
	return last
}

// none checks that no event comes within d.
func (s *sse) none(d time.Duration) {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			s.t.Errorf("unexpected event %v", ev)
		}
	case <-time.After(d):
	}
}

func createIDs(t *testing.T, svc *service, tok string, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		r := svc.do("POST", "/api/me/tasks", tok, titleBody("t"))
		var tk struct {
			ID int64 `json:"id"`
		}
		if r.status != 201 || json.Unmarshal([]byte(r.body), &tk) != nil {
			t.Fatalf("create: %d %s %v", r.status, r.body, r.err)
		}
		ids = append(ids, tk.ID)
	}
	return ids
}

// TestEventsAcrossInstances: two instances of the binary on one
// PostgreSQL database (writes through the pooler when the tests run with
// one, LISTEN on the direct URL): a write through A reaches a stream on B;
// cutting the notification connections loses nothing; after kill -9 of B
// the client resumes on A with Last-Event-ID and gets every change once;
// SIGTERM with a stream open exits at once.
func TestEventsAcrossInstances(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	direct := testpg.DirectURL(t, dsn)
	env := []string{"DATABASE_URL=" + dsn, "DATABASE_MIGRATION_URL=" + direct}
	a := start(t, env...)
	b := start(t, env...)
	tok := token(t, "alice")
	other := token(t, "bob")

	onB := openEvents(t, b.base, tok, "")
	if ev, _ := onB.next(); ev[1] != "ready" || ev[0] == "" {
		t.Fatalf("first event %v", ev)
	}
	createIDs(t, a, other, 2)
	onB.created(createIDs(t, a, tok, 3)...)

	admin, err := sql.Open("pgx", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var cut int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'todo-api-listen' AND datname = current_database()`).Scan(&cut); err != nil || cut != 2 {
		t.Fatalf("cutting the LISTEN connections: %d %v", cut, err)
	}
	last := onB.created(createIDs(t, a, tok, 3)...)
	onB.none(300 * time.Millisecond)

	b.kill()
	missed := createIDs(t, a, tok, 4)
	onA := openEvents(t, a.base, tok, last)
	onA.created(missed...)
	onA.none(300 * time.Millisecond)

	start := time.Now()
	if err := a.signal(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %s with a stream open (drain timeout 10 s)", took)
	}
	if _, open := <-onA.events; open {
		t.Error("the stream is still open after shutdown")
	}
}
