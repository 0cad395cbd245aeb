package server_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"todo-api/config"
)

// feedPage is a page of the change feed as a client reads it.
type feedPage struct {
	Changes []struct {
		Op     string `json:"op"`
		Cursor string `json:"cursor"`
		Task   *task  `json:"task"`
		ID     int64  `json:"id"`
		List   *list  `json:"list"`
		ListID int64  `json:"list_id"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
}

// replica is what a client rebuilds from the feed: task versions by id,
// and list versions by id.
type replica struct {
	cursor   string
	versions map[int64]int64
	lists    map[int64]int64
}

// sync reads the feed from the replica's cursor to its end, limit changes a
// call, applying each, and returns how many changes it applied.
func (r *replica) sync(t *testing.T, e *env, user string, limit int) int {
	t.Helper()
	applied := 0
	for {
		n, more := r.page(t, e, user, limit)
		applied += n
		if !more {
			return applied
		}
	}
}

// page reads and applies one page from the replica's cursor: how many
// changes it applied, and whether more are waiting.
func (r *replica) page(t *testing.T, e *env, user string, limit int) (applied int, more bool) {
	t.Helper()
	path := fmt.Sprintf("/api/%s/tasks/changes?limit=%d", user, limit)
	if r.cursor != "" {
		path += "&since=" + url.QueryEscape(r.cursor)
	}
	res := e.call("GET", path, e.token(user), nil)
	if res.status != 200 {
		t.Fatalf("feed: %d %s", res.status, res.body)
	}
	var p feedPage
	res.decode(t, &p)
	seen := map[int64]bool{}
	if r.lists == nil {
		r.lists = map[int64]int64{}
	}
	for _, ch := range p.Changes {
		if ch.List != nil || ch.ListID != 0 {
			r.applyList(t, user, ch.Op, ch.List, ch.ListID)
			applied++
			continue
		}
		id := ch.ID
		if ch.Op == "upsert" {
			id = ch.Task.ID
			if ch.Task.UserID != user {
				t.Fatalf("%s's feed carries %s's task %d", user, ch.Task.UserID, id)
			}
			r.versions[id] = ch.Task.Version
		} else {
			delete(r.versions, id)
		}
		if seen[id] {
			t.Errorf("task %d twice in one page", id)
		}
		seen[id] = true
		applied++
	}
	r.cursor = p.Cursor
	return applied, p.HasMore
}

// applyList applies a list's entry of the feed.
func (r *replica) applyList(t *testing.T, user, op string, l *list, deleted int64) {
	t.Helper()
	if op == "upsert" {
		if l == nil || l.UserID != user {
			t.Fatalf("%s's feed carries the list %+v", user, l)
		}
		r.lists[l.ID] = l.Version
		return
	}
	if deleted == 0 {
		t.Fatalf("a list delete without list_id")
	}
	delete(r.lists, deleted)
}

// listed is every task of user with its version, from the list.
func listed(t *testing.T, e *env, user string) map[int64]int64 {
	t.Helper()
	out := map[int64]int64{}
	for offset := 0; ; offset += 500 {
		var page []task
		e.call("GET", fmt.Sprintf("/api/%s/tasks?limit=500&offset=%d", user, offset), e.token(user), nil).decode(t, &page)
		for _, tk := range page {
			out[tk.ID] = tk.Version
		}
		if len(page) < 500 {
			return out
		}
	}
}

func sameTasks(t *testing.T, what string, got, want map[int64]int64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: the feed rebuilds %v, the list has %v", what, got, want)
	}
}

// TestChangeFeedRebuildsTheList: a full sync, and every sync after more
// writes of every kind, rebuilds exactly what the list answers, versions
// included.
func TestChangeFeedRebuildsTheList(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		path := func(id int64, rest string) string { return fmt.Sprintf("/api/alice/tasks/%d%s", id, rest) }
		a := e.create("alice", map[string]any{"title": "a"})
		b := e.create("alice", map[string]any{"title": "b"})
		rent := e.create("alice", map[string]any{"title": "rent", "due_date": "2026-12-01T09:00:00Z", "recurrence": "monthly"})
		e.create("bob", map[string]any{"title": "bob's"})
		e.call("PATCH", path(a.ID, ""), alice, map[string]any{"title": "a2"})
		e.call("DELETE", path(b.ID, ""), alice, nil)

		full := &replica{versions: map[int64]int64{}}
		full.sync(t, e, "alice", 2)
		sameTasks(t, "full sync", full.versions, listed(t, e, "alice"))

		steps := []struct {
			name string
			do   func()
		}{
			{"an edit", func() { e.call("PATCH", path(a.ID, ""), alice, map[string]any{"priority": "high"}) }},
			{"a completed recurring task and its next occurrence", func() { e.call("PATCH", path(rent.ID, "/toggle"), alice, nil) }},
			{"creates, one replayed", func() {
				for range 2 {
					e.call("POST", "/api/alice/tasks", alice, map[string]any{"title": "keyed"}, "Idempotency-Key", "k")
				}
				e.create("alice", map[string]any{"title": "c", "completed": true})
			}},
			{"clear-completed", func() { e.call("DELETE", "/api/alice/tasks?status=completed", alice, nil) }},
			{"a delete", func() { e.call("DELETE", path(a.ID, ""), alice, nil) }},
		}
		for _, step := range steps {
			t.Run(step.name, func(t *testing.T) {
				step.do()
				if n := full.sync(t, e, "alice", 3); n == 0 {
					t.Error("no change in the feed")
				}
				sameTasks(t, step.name, full.versions, listed(t, e, "alice"))
				fresh := &replica{versions: map[int64]int64{}}
				fresh.sync(t, e, "alice", 500)
				sameTasks(t, step.name+", from scratch", fresh.versions, listed(t, e, "alice"))
			})
		}
		t.Run("a write that changes nothing is no change", func(t *testing.T) {
			same := e.create("alice", map[string]any{"title": "same"})
			full.sync(t, e, "alice", 10)
			e.call("PATCH", path(same.ID, ""), alice, map[string]any{"title": "same"})
			e.call("PATCH", path(same.ID, "/toggle"), alice, map[string]any{"completed": false})
			if n := full.sync(t, e, "alice", 10); n != 0 {
				t.Errorf("%d changes after writes that changed nothing", n)
			}
		})
		t.Run("bob's feed is bob's", func(t *testing.T) {
			bob := &replica{versions: map[int64]int64{}}
			bob.sync(t, e, "bob", 100)
			sameTasks(t, "bob", bob.versions, listed(t, e, "bob"))
		})
	})
}

// cursorAt forges a cursor for position seq of user, as the server writes
// them (a tag of the user's id after the position).
func cursorAt(t *testing.T, e *env, user string, seq uint64) string {
	t.Helper()
	var p feedPage
	e.call("GET", "/api/"+user+"/tasks/changes?limit=1", e.token(user), nil).decode(t, &p)
	raw, err := base64.RawURLEncoding.DecodeString(p.Cursor[2:])
	if err != nil || len(raw) != 12 {
		t.Fatalf("cursor %q", p.Cursor)
	}
	binary.BigEndian.PutUint64(raw[:8], seq)
	return "c_" + base64.RawURLEncoding.EncodeToString(raw)
}

// TestChangeFeedCursors: a cursor reaches only its own user's history.
func TestChangeFeedCursors(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.create("alice", map[string]any{"title": "a"})
		e.create("alice", map[string]any{"title": "a2"})
		e.create("bob", map[string]any{"title": "b"})
		var p, mid feedPage
		e.call("GET", "/api/me/tasks/changes", e.token("alice"), nil).decode(t, &p)
		// A full sync's page before its last carries a cursor of the longer form.
		e.call("GET", "/api/me/tasks/changes?limit=1", e.token("alice"), nil).decode(t, &mid)
		if len(mid.Cursor) != 29 {
			t.Fatalf("a full sync's first page of one: cursor %q", mid.Cursor)
		}
		for _, tc := range []struct{ name, query, field string }{
			{"alice's cursor on bob's feed", "since=" + url.QueryEscape(p.Cursor), "since"},
			{"alice's full-sync cursor on bob's feed", "since=" + url.QueryEscape(mid.Cursor), "since"},
			{"a mistyped cursor", "since=" + url.QueryEscape(p.Cursor[:len(p.Cursor)-1]+"x"), "since"},
			{"not a cursor", "since=42", "since"},
			{"a cursor from the future", "since=" + cursorAt(t, e, "bob", 1000), "since"},
			{"limit 0", "limit=0", "limit"},
			{"limit 501", "limit=501", "limit"},
			{"since twice", "since=" + url.QueryEscape(p.Cursor) + "&since=" + url.QueryEscape(p.Cursor), "since"},
			{"an unknown parameter", "after=1", "after"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pr := e.call("GET", "/api/me/tasks/changes?"+tc.query, e.token("bob"), nil).problem(t, 422)
				if len(pr.Errors) == 0 || pr.Errors[0].Field != tc.field {
					t.Errorf("errors %+v, want %s", pr.Errors, tc.field)
				}
			})
		}
	})
}

// TestChangeFeedNeverSkips: writers of one user on two instances
// (PostgreSQL; one on SQLite) commit concurrently, to tasks and to lists,
// while a reader follows the feed; afterwards the reader has every task
// and every list the lists have, at their versions, and no deleted one.
func TestChangeFeedNeverSkips(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		instances := []*env{e}
		if e.cfg.Database.Driver == config.Postgres {
			instances = append(instances, newEnv(t, config.Postgres, func(c *config.Config) { c.Database = e.cfg.Database }))
		}
		alice := e.token("alice")
		reader := &replica{versions: map[int64]int64{}}
		var stop atomic.Bool
		var writers sync.WaitGroup
		var acked atomic.Int64
		for w := range 8 {
			inst := instances[w%len(instances)]
			writers.Add(1)
			go func() {
				defer writers.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				var mine []int64
				var myList int64 // 0: none
				for !stop.Load() {
					switch {
					case rng.IntN(6) == 0:
						// Lists share the history: create, rename, delete
						// (with its tasks, or moving them to the inbox).
						switch {
						case myList == 0:
							r := inst.call("POST", "/api/me/lists", alice, map[string]any{"name": fmt.Sprint("w", w, " ", rng.Int())})
							if r.status == 201 {
								myList = r.list(t).ID
								if len(mine) > 0 {
									inst.call("PATCH", fmt.Sprintf("/api/me/tasks/%d", mine[0]), alice, map[string]any{"list_id": myList})
								}
							}
						case rng.IntN(3) > 0:
							inst.call("PATCH", fmt.Sprintf("/api/me/lists/%d", myList), alice, map[string]any{"name": fmt.Sprint("w", w, " ", rng.Int())})
						default:
							mode := []string{"inbox", "delete"}[rng.IntN(2)]
							inst.call("DELETE", fmt.Sprintf("/api/me/lists/%d?tasks=%s", myList, mode), alice, nil)
							if mode == "delete" && len(mine) > 0 {
								mine = mine[1:] // the one task filed there
							}
							myList = 0
						}
					case len(mine) < 3 || rng.IntN(3) == 0:
						r := inst.call("POST", "/api/me/tasks", alice, map[string]any{"title": fmt.Sprint("w", w)})
						if r.status == 201 {
							mine = append(mine, r.task(t).ID)
						}
					case rng.IntN(4) == 0:
						i := rng.IntN(len(mine))
						inst.call("DELETE", fmt.Sprintf("/api/me/tasks/%d", mine[i]), alice, nil)
						mine = append(mine[:i], mine[i+1:]...)
					default:
						inst.call("PATCH", fmt.Sprintf("/api/me/tasks/%d", mine[rng.IntN(len(mine))]), alice,
							map[string]any{"title": fmt.Sprint("w", w, " ", rng.Int())})
					}
					acked.Add(1)
				}
			}()
		}
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			reader.page(t, instances[len(instances)-1], "alice", 7)
		}
		stop.Store(true)
		writers.Wait()
		reader.sync(t, e, "alice", 500)
		sameState(t, fmt.Sprintf("after %d writes", acked.Load()), e, "alice", reader)
		if acked.Load() < 50 {
			t.Errorf("only %d writes: the test did not race", acked.Load())
		}
	})
}
