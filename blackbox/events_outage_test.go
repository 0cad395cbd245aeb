package blackbox_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"todo-api/internal/testpg"
)

// TestEventsDatabaseOutage stops PostgreSQL under the running binary with
// event streams open (as TestDatabaseOutage does): every open stream ends
// with `event: unavailable` carrying its cursor, soon, rather than sitting
// silent on a database it cannot read; reconnecting is a 503 while the
// database is down and writes are 503 too; once it is back, a client that
// resumes (with the last event's id, or with the cursor of `unavailable`)
// gets every change it had not seen exactly once: those acknowledged just
// before the stop and those written after the restart. Another user's
// stream carries none of them.
func TestEventsDatabaseOutage(t *testing.T) {
	cluster := testpg.NewCluster(t)
	svc := start(t, "DATABASE_URL="+cluster.NewDatabase(t), "DB_TIMEOUT=1s", "RATE_LIMIT_PER_MINUTE=0")
	alice, bob := token(t, "alice"), token(t, "bob")

	// Two tabs of alice: one resumes with the last id it saw, the other
	// with the cursor the unavailable event hands it.
	type tab struct {
		s        *sse
		lastID   string
		resumeAt string // the cursor of unavailable
		seen     map[int64]int
	}
	tabs := []*tab{{}, {}}
	for _, tb := range tabs {
		tb.s, tb.seen = openEvents(t, svc.base, alice, ""), map[int64]int{}
		ev, _ := tb.s.next()
		if ev[1] != "ready" {
			t.Fatalf("first event %v", ev)
		}
		tb.lastID = ev[0]
	}
	onBob := openEvents(t, svc.base, bob, "")
	if ev, _ := onBob.next(); ev[1] != "ready" {
		t.Fatalf("bob's first event %v", ev)
	}
	// Delivered before the outage: a stream whose read is under way when
	// the database stops ends with unavailable instead.
	onBob.created(createIDs(t, svc, bob, 2)...)

	// take reads tb's events until the stream ends, counting each task.
	take := func(tb *tab, within time.Duration) (ended bool) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case ev, ok := <-tb.s.events:
				if !ok {
					return true
				}
				switch ev[1] {
				case "task.created":
					var d struct {
						Cursor string `json:"cursor"`
						Task   struct {
							ID int64 `json:"id"`
						} `json:"task"`
					}
					if json.Unmarshal([]byte(ev[2]), &d) != nil || d.Cursor != ev[0] {
						t.Fatalf("event %v", ev)
					}
					tb.seen[d.Task.ID]++
					tb.lastID = ev[0]
				case "unavailable":
					var d struct {
						Cursor string `json:"cursor"`
					}
					if ev[0] != "" || json.Unmarshal([]byte(ev[2]), &d) != nil || d.Cursor == "" {
						t.Fatalf("unavailable event %v", ev)
					}
					tb.resumeAt = d.Cursor
				default:
					t.Fatalf("unexpected event %v", ev)
				}
			case <-deadline:
				return false
			}
		}
	}

	before := createIDs(t, svc, alice, 3)
	for _, tb := range tabs {
		tb.lastID = tb.s.created(before...)
		for _, id := range before {
			tb.seen[id]++
		}
	}
	// Acknowledged, then the database stops at once: the streams may or
	// may not have read these before it went.
	acked := createIDs(t, svc, alice, 2)
	cluster.Stop(t)
	for i, tb := range tabs {
		// Woken when the notification connection drops, and again at
		// every failed reconnect (1 s apart), the stream's read fails
		// within DB_TIMEOUT.
		if !take(tb, 8*time.Second) {
			t.Fatalf("tab %d: still open 8 s after the database stopped, with no unavailable event", i)
		}
		if tb.resumeAt == "" {
			t.Fatalf("tab %d ended without an unavailable event", i)
		}
	}
	if r := svc.do("POST", "/api/me/tasks", alice, titleBody("during the outage")); r.err != nil || r.status != 503 {
		t.Errorf("write during the outage: %v %d %s", r.err, r.status, r.body)
	}
	if s, res, err := dialEvents(t, svc.base, alice, tabs[0].resumeAt); s != nil || err != nil || res.StatusCode != 503 ||
		res.Header.Get("Content-Type") != "application/problem+json" || res.Header.Get("Retry-After") == "" {
		t.Errorf("reconnecting during the outage: %v %v", res, err)
	}

	cluster.Start(t)
	// Resume as the client does, again and again until a 200: tab 0 with
	// the last id it saw, tab 1 with the cursor unavailable gave it.
	tabs[1].lastID = tabs[1].resumeAt
	for i, tb := range tabs {
		var res *http.Response
		var err error
		if !eventually(20*time.Second, func() bool {
			tb.s, res, err = dialEvents(t, svc.base, alice, tb.lastID)
			return tb.s != nil
		}) {
			t.Fatalf("tab %d: not resumed 20 s after the database came back: %v %v", i, res, err)
		}
	}
	after := createIDs(t, svc, alice, 3)
	for i, tb := range tabs {
		take(tb, 2*time.Second)
		for _, id := range append(append(append([]int64{}, before...), acked...), after...) {
			if tb.seen[id] != 1 {
				t.Errorf("tab %d: task %d seen %d times, want once (seen: %v)", i, id, tb.seen[id], tb.seen)
			}
		}
		if len(tb.seen) != len(before)+len(acked)+len(after) {
			t.Errorf("tab %d saw other tasks: %v", i, tb.seen)
		}
	}

	// Bob's stream, after his own two tasks, ended the same way, with
	// none of alice's.
	if ev, ok := onBob.next(); !ok || ev[1] != "unavailable" {
		t.Errorf("bob's stream after his tasks: %v (open %v)", ev, ok)
	}
}
