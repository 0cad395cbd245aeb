package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestMePath: /api/me/... is the token's own user on every route. Reads
// answer byte for byte what the explicit path answers, headers included;
// writes through "me" act on the caller's tasks and name the id in
// Location and Link, as the explicit path does.
func TestMePath(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		for i := 0; i < 3; i++ {
			e.create("alice", map[string]any{"title": fmt.Sprintf("task %d", i), "completed": i == 0, "due_date": "2026-11-20T12:00:00Z"})
		}
		e.create("bob", map[string]any{"title": "bob's"})
		one := e.create("alice", map[string]any{"title": "one"})

		t.Run("reads are identical", func(t *testing.T) {
			for _, suffix := range []string{"/tasks", "/tasks?limit=1&offset=1&sort=title", "/tasks?status=completed",
				"/tasks/stats", "/tasks/stats?tz=Europe/Berlin", fmt.Sprintf("/tasks/%d", one.ID), "/tasks/987654"} {
				byID := e.call("GET", "/api/alice"+suffix, alice, nil)
				byMe := e.call("GET", "/api/me"+suffix, alice, nil)
				if byID.status != byMe.status || string(byID.body) != string(byMe.body) {
					t.Errorf("%s: %d %s through the id, %d %s through me", suffix, byID.status, byID.body, byMe.status, byMe.body)
				}
				for _, h := range []string{"ETag", "Link", "X-Total-Count", "Cache-Control"} {
					if byID.header.Get(h) != byMe.header.Get(h) {
						t.Errorf("%s: %s %q through the id, %q through me", suffix, h, byID.header.Get(h), byMe.header.Get(h))
					}
				}
				if etag := byMe.header.Get("ETag"); etag != "" {
					if r := e.call("GET", "/api/me"+suffix, alice, nil, "If-None-Match", etag); r.status != http.StatusNotModified {
						t.Errorf("%s: If-None-Match through me answered %d", suffix, r.status)
					}
				}
			}
		})

		t.Run("writes act on the caller's tasks", func(t *testing.T) {
			r := e.call("POST", "/api/me/tasks", alice, map[string]any{"title": "through me"})
			created := r.task(t)
			if r.status != http.StatusCreated || created.UserID != "alice" ||
				r.header.Get("Location") != fmt.Sprintf("/api/alice/tasks/%d", created.ID) {
				t.Fatalf("create: %d %s Location %q", r.status, r.body, r.header.Get("Location"))
			}
			path := fmt.Sprintf("/api/me/tasks/%d", created.ID)
			steps := []struct {
				method, suffix string
				body           any
				status         int
			}{
				{"PUT", "", map[string]any{"title": "replaced"}, 200},
				{"PATCH", "", map[string]any{"priority": "high"}, 200},
				{"PATCH", "/toggle", nil, 200},
				{"PATCH", "/complete", map[string]any{"completed": false}, 200},
				{"PATCH", "", map[string]any{"title": "stale"}, 412}, // with the first ETag
				{"DELETE", "", nil, 204},
			}
			first := fmt.Sprintf(`"%d-%d"`, created.ID, created.Version)
			for i, s := range steps {
				var headers []string
				if s.status == 412 {
					headers = []string{"If-Match", first}
				}
				r := e.call(s.method, path+s.suffix, alice, s.body, headers...)
				if r.status != s.status {
					t.Fatalf("step %d %s %s: %d %s", i, s.method, s.suffix, r.status, r.body)
				}
				if s.status == 200 {
					if got := r.task(t); got.UserID != "alice" || got.Version != int64(i+2) {
						t.Errorf("step %d: %s", i, r.body)
					}
				}
			}
			if r := e.call("DELETE", "/api/me/tasks?status=completed", alice, nil); r.status != 200 || !strings.Contains(string(r.body), `"deleted":1`) {
				t.Errorf("clear completed through me: %d %s", r.status, r.body)
			}
			var bobs []task
			e.call("GET", "/api/bob/tasks", e.token("bob"), nil).decode(t, &bobs)
			if len(bobs) != 1 || bobs[0].Title != "bob's" {
				t.Errorf("bob's tasks after alice's writes through me: %+v", bobs)
			}
		})

		t.Run("a user whose id is me", func(t *testing.T) {
			me := e.token("me")
			r := e.call("POST", "/api/me/tasks", me, map[string]any{"title": "mine"})
			if r.status != 201 || r.task(t).UserID != "me" || !strings.HasPrefix(r.header.Get("Location"), "/api/me/tasks/") {
				t.Fatalf("%d %s Location %q", r.status, r.body, r.header.Get("Location"))
			}
			var got []task
			e.call("GET", "/api/me/tasks", alice, nil).decode(t, &got)
			for _, tk := range got {
				if tk.UserID != "alice" {
					t.Errorf("alice's /api/me holds %+v", tk)
				}
			}
			e.call("GET", "/api/me/tasks", me, nil).decode(t, &got)
			if len(got) != 1 || got[0].UserID != "me" {
				t.Errorf("me's tasks: %+v", got)
			}
		})
	})
}

// TestPathUserRoundTrip: ids with characters that paths encode reach their
// own tasks through the Location and Link the API sends, followed verbatim;
// "+" in a path is a plus, never a space.
func TestPathUserRoundTrip(t *testing.T) {
	ids := []string{"john+tag@example.com", "100%", "a/b", "with space", "ünïcödé", "auth0|123", "a+b c%2Fd"}
	eachDB(t, func(t *testing.T, e *env) {
		for _, id := range ids {
			t.Run(id, func(t *testing.T) {
				tok := e.token(id)
				base := "/api/" + url.PathEscape(id) + "/tasks"
				var location string
				for i := 0; i < 2; i++ {
					r := e.call("POST", base, tok, map[string]any{"title": fmt.Sprint("task ", i)})
					if r.status != http.StatusCreated || r.task(t).UserID != id {
						t.Fatalf("create: %d %s", r.status, r.body)
					}
					location = r.header.Get("Location")
				}
				if r := e.call("GET", location, tok, nil); r.status != 200 || r.task(t).UserID != id {
					t.Errorf("following Location %s: %d %s", location, r.status, r.body)
				}
				page := e.call("GET", base+"?limit=1", tok, nil)
				next := strings.TrimSuffix(strings.TrimPrefix(strings.Split(page.header.Get("Link"), ";")[0], "<"), ">")
				if r := e.call("GET", next, tok, nil); r.status != 200 || len(r.ids(t, id)) != 1 {
					t.Errorf("following Link %s: %d %s", next, r.status, r.body)
				}
				if r := e.call("GET", location, e.token("john tag@example.com"), nil); id == "john+tag@example.com" && r.status != http.StatusForbidden {
					t.Errorf("the id with a space reached the id with a plus: %d", r.status)
				}
			})
		}
	})
}
