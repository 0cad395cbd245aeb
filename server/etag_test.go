package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestIfNoneMatchOnTask(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		tk := e.create("alice", map[string]any{"title": "cached"})
		path := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
		tag := fmt.Sprintf(`"%d-1"`, tk.ID)
		cases := []struct {
			ifNoneMatch string
			status      int
		}{
			{tag, 304},
			{"W/" + tag, 304},
			{`"1-999", ` + tag, 304},
			{"*", 304},
			{fmt.Sprintf(`"%d-2"`, tk.ID), 200},
			{`"nonsense"`, 200},
			{"nonsense", 200},
		}
		for _, tc := range cases {
			t.Run(tc.ifNoneMatch, func(t *testing.T) {
				r := e.call("GET", path, alice, nil, "If-None-Match", tc.ifNoneMatch)
				if r.status != tc.status || r.header.Get("ETag") != tag || r.header.Get("Cache-Control") != "private, no-cache" {
					t.Fatalf("%d, ETag %q, Cache-Control %q", r.status, r.header.Get("ETag"), r.header.Get("Cache-Control"))
				}
				if tc.status == 304 && len(r.body) != 0 {
					t.Errorf("304 with a body: %q", r.body)
				}
				if tc.status == 200 && r.task(t).ID != tk.ID {
					t.Errorf("body %s", r.body)
				}
			})
		}
		t.Run("a change makes the old tag stale", func(t *testing.T) {
			e.call("PATCH", path, alice, map[string]any{"title": "changed"})
			r := e.call("GET", path, alice, nil, "If-None-Match", tag)
			if r.status != 200 || r.header.Get("ETag") != fmt.Sprintf(`"%d-2"`, tk.ID) || r.task(t).Title != "changed" {
				t.Errorf("%d %s %s", r.status, r.header.Get("ETag"), r.body)
			}
		})
		t.Run("another user's task is 404, not 304", func(t *testing.T) {
			bobs := e.create("bob", map[string]any{"title": "bob's"})
			e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", bobs.ID), alice, nil, "If-None-Match", "*").problem(t, 404)
		})
	})
}

func TestListETag(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		a := e.create("alice", map[string]any{"title": "a", "due_date": "2026-11-27T12:00:00Z"})
		b := e.create("alice", map[string]any{"title": "b"})
		etagOf := func(query string) string {
			t.Helper()
			r := e.call("GET", "/api/alice/tasks"+query, e.token("alice"), nil)
			if r.status != http.StatusOK || r.header.Get("ETag") == "" || r.header.Get("Cache-Control") != "private, no-cache" {
				t.Fatalf("%d, ETag %q, Cache-Control %q", r.status, r.header.Get("ETag"), r.header.Get("Cache-Control"))
			}
			return r.header.Get("ETag")
		}
		// fresh reports whether a conditional GET with tag is a 304.
		fresh := func(query, tag string) bool {
			t.Helper()
			r := e.call("GET", "/api/alice/tasks"+query, e.token("alice"), nil, "If-None-Match", tag)
			if r.status == http.StatusNotModified {
				if len(r.body) != 0 || r.header.Get("ETag") == "" {
					t.Errorf("304 with body %q, ETag %q", r.body, r.header.Get("ETag"))
				}
				return true
			}
			if r.status != http.StatusOK || r.header.Get("ETag") == tag {
				t.Errorf("%d with ETag %q", r.status, r.header.Get("ETag"))
			}
			return false
		}
		tag := etagOf("")
		if !fresh("", tag) || !fresh("", "W/"+tag) || !fresh("", `"other", `+tag) {
			t.Fatal("an unchanged list is not a 304")
		}
		if fresh("?limit=1", tag) || fresh("?status=pending", tag) || etagOf("?limit=1") == etagOf("?limit=2") {
			t.Error("another query shares the list's ETag")
		}
		steps := []struct {
			name   string
			change func()
			moves  bool
		}{
			{"another user's write", func() { e.create("bob", map[string]any{"title": "bob's"}) }, false},
			{"a read", func() { e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", a.ID), alice, nil) }, false},
			{"a refused write", func() {
				e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", a.ID), alice, map[string]any{"title": ""})
			}, false},
			{"create", func() { b = e.create("alice", map[string]any{"title": "c"}) }, true},
			{"update", func() {
				e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", a.ID), alice, map[string]any{"title": "a2"})
			}, true},
			{"toggle", func() { e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", a.ID), alice, nil) }, true},
			{"delete", func() { e.call("DELETE", fmt.Sprintf("/api/alice/tasks/%d", b.ID), alice, nil) }, true},
			{"delete and create (same count)", func() {
				e.call("DELETE", fmt.Sprintf("/api/alice/tasks/%d", a.ID), alice, nil)
				a = e.create("alice", map[string]any{"title": "a3", "due_date": "2026-11-27T12:00:00Z"})
			}, true},
			{"clear completed", func() {
				e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", a.ID), alice, nil)
				e.call("DELETE", "/api/alice/tasks?status=completed", alice, nil)
			}, true},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				before := etagOf("")
				s.change()
				if fresh("", before) == s.moves {
					t.Errorf("ETag moved: %v, want %v", !s.moves, s.moves)
				}
			})
		}
		t.Run("overdue moves with the clock alone", func(t *testing.T) {
			e.create("alice", map[string]any{"title": "soon", "due_date": "2026-11-28T12:00:00Z"})
			before := etagOf("?overdue=true")
			if !fresh("?overdue=true", before) {
				t.Fatal("not fresh right away")
			}
			e.clock.set(time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC))
			if fresh("?overdue=true", before) {
				t.Error("the overdue list gained a task but kept its ETag")
			}
		})
	})
}
