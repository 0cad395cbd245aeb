package server_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func TestIfMatch(t *testing.T) {
	writes := []struct {
		name, method, route string
		body                any
		status              int
	}{
		{"PUT", "PUT", "", map[string]any{"title": "replaced"}, 200},
		{"PATCH", "PATCH", "", map[string]any{"title": "patched"}, 200},
		{"empty PATCH", "PATCH", "", map[string]any{}, 200},
		{"toggle", "PATCH", "/toggle", nil, 200},
		{"complete", "PATCH", "/complete", map[string]any{"completed": true}, 200},
		{"DELETE", "DELETE", "", nil, 204},
	}
	// Each case gets a fresh recurring task at version 2 (id, version): the
	// If-Match value is built from them.
	conds := []struct {
		name    string
		ifMatch func(id, v int64) string
		pass    bool
	}{
		{"current", func(id, v int64) string { return fmt.Sprintf(`"%d-%d"`, id, v) }, true},
		{"star", func(id, v int64) string { return "*" }, true},
		{"list holding the current", func(id, v int64) string { return fmt.Sprintf(`"%d-%d", "%d-%d"`, id, v-1, id, v) }, true},
		{"stale", func(id, v int64) string { return fmt.Sprintf(`"%d-%d"`, id, v-1) }, false},
		{"newer", func(id, v int64) string { return fmt.Sprintf(`"%d-%d"`, id, v+1) }, false},
		{"weak current", func(id, v int64) string { return fmt.Sprintf(`W/"%d-%d"`, id, v) }, false},
		{"another task's", func(id, v int64) string { return fmt.Sprintf(`"%d-%d"`, id+1000, v) }, false},
		{"unquoted", func(id, v int64) string { return fmt.Sprintf(`%d-%d`, id, v) }, false},
		{"garbage", func(id, v int64) string { return `"x"` }, false},
	}
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		for _, w := range writes {
			for _, c := range conds {
				t.Run(w.name+" "+c.name, func(t *testing.T) {
					tk := e.create("alice", map[string]any{"title": "t", "due_date": "2026-12-01T09:00:00Z", "recurrence": "daily"})
					path := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
					before := e.call("PATCH", path, alice, map[string]any{"description": "v2"}).task(t)
					rows := e.countRows()
					r := e.call(w.method, path+w.route, alice, w.body, "If-Match", c.ifMatch(tk.ID, before.Version))
					if c.pass {
						if r.status != w.status {
							t.Fatalf("%d %s", r.status, r.body)
						}
						return
					}
					p := r.problem(t, 412)
					if p.Detail == "" {
						t.Error("412 without a detail")
					}
					if got := e.call("GET", path, alice, nil).task(t); !reflect.DeepEqual(got, before) {
						t.Errorf("412 but the task changed: %+v", got)
					}
					if n := e.countRows(); n != rows {
						t.Errorf("412 but %d rows, was %d", n, rows)
					}
				})
			}
		}
		t.Run("a missing or foreign task is 404 whatever If-Match says", func(t *testing.T) {
			bobs := e.create("bob", map[string]any{"title": "bob's"})
			for _, w := range writes {
				for _, id := range []int64{bobs.ID, 999999} {
					for _, im := range []string{fmt.Sprintf(`"%d-1"`, id), `"0-0"`, "*"} {
						e.call(w.method, fmt.Sprintf("/api/alice/tasks/%d%s", id, w.route), alice, w.body, "If-Match", im).problem(t, 404)
					}
				}
			}
			if got := e.call("GET", fmt.Sprintf("/api/bob/tasks/%d", bobs.ID), e.token("bob"), nil).task(t); got.Version != 1 {
				t.Errorf("bob's task changed: %+v", got)
			}
		})
	})
}

// TestIfMatchRace sends one If-Match value with several writes at once:
// the check and the write are one statement, so exactly one wins.
func TestIfMatchRace(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice := e.token("alice")
		tk := e.create("alice", map[string]any{"title": "contended"})
		tag := fmt.Sprintf(`"%d-1"`, tk.ID)
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", tk.ID), alice, map[string]any{"title": fmt.Sprint("writer ", i)}, "If-Match", tag)
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[200] != 1 || statuses[412] != 7 {
			t.Errorf("statuses %v, want one 200 and seven 412", statuses)
		}
		if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", tk.ID), alice, nil).task(t); got.Version != 2 {
			t.Errorf("version %d after one successful write", got.Version)
		}
	})
}
