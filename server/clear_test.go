package server_test

import (
	"reflect"
	"testing"
)

func TestClearCompleted(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var pending []int64
		for _, done := range []bool{true, false, true, true, false} {
			tk := e.create("alice", map[string]any{"title": "alice's", "completed": done})
			if !done {
				pending = append([]int64{tk.ID}, pending...)
			}
		}
		bobs := []int64{
			e.create("bob", map[string]any{"title": "bob's", "completed": true}).ID,
			e.create("bob", map[string]any{"title": "bob's", "completed": true}).ID,
		}
		rows := e.countRows()

		for _, tc := range []struct{ query, field string }{
			{"", "status"},
			{"?status=pending", "status"},
			{"?status=all", "status"},
			{"?status=", "status"},
			{"?status=COMPLETED", "status"},
			{"?status=completed&status=completed", "status"},
			{"?status=completed&tag=home", "tag"},
			{"?status=completed&limit=1", "limit"},
			{"?completed=true", "completed"},
		} {
			t.Run("rejects "+tc.query, func(t *testing.T) {
				p := e.call("DELETE", "/api/alice/tasks"+tc.query, e.token("alice"), nil).problem(t, 422)
				found := false
				for _, f := range p.fields() {
					found = found || f == tc.field
				}
				if !found {
					t.Errorf("fields %v do not name %s", p.fields(), tc.field)
				}
				if n := e.countRows(); n != rows {
					t.Fatalf("a refused clear deleted %d rows", rows-n)
				}
			})
		}
		t.Run("another user's path", func(t *testing.T) {
			e.call("DELETE", "/api/bob/tasks?status=completed", e.token("alice"), nil).problem(t, 403)
		})

		for i, want := range []string{`{"deleted":3}`, `{"deleted":0}`} {
			r := e.call("DELETE", "/api/alice/tasks?status=completed", e.token("alice"), nil)
			if r.status != 200 || string(r.body) != want || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("clear %d: %d %q %s", i, r.status, r.body, r.header.Get("Content-Type"))
			}
		}
		if got := e.call("GET", "/api/alice/tasks", e.token("alice"), nil).ids(t, "alice"); !reflect.DeepEqual(got, pending) {
			t.Errorf("alice keeps %v, want %v", got, pending)
		}
		if got := e.call("GET", "/api/bob/tasks?order=asc", e.token("bob"), nil).ids(t, "bob"); !reflect.DeepEqual(got, bobs) {
			t.Errorf("bob's completed tasks went too: %v", got)
		}
	})
}
