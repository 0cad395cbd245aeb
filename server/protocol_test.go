package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"todo-api/config"
	"todo-api/database"
)

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, config.SQLite)
	e.listen()
	alice := e.token("alice")
	tk := e.create("alice", map[string]any{"title": "x"})
	one := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
	cases := []struct {
		name          string
		method, path  string
		token         string
		body          any
		headers       []string
		status        int
		allowIncludes []string
	}{
		{"unknown route", "GET", "/nope", "", nil, nil, 404, nil},
		{"unknown route under a user", "GET", "/api/alice/projects", alice, nil, nil, 404, nil},
		{"PUT on the collection", "PUT", "/api/alice/tasks", alice, map[string]any{"title": "x"}, nil, 405, []string{"GET", "POST"}},
		{"POST on a task", "POST", one, alice, map[string]any{"title": "x"}, nil, 405, []string{"GET", "PUT", "PATCH", "DELETE"}},
		{"GET on toggle", "GET", one + "/toggle", alice, nil, nil, 405, []string{"PATCH"}},
		{"TRACE", "TRACE", one, alice, nil, nil, 405, []string{"GET"}},
		{"a method no resource has (WebDAV)", "PROPFIND", one, alice, nil, nil, 400, nil},
		{"a method no resource has, with a body", "MKCOL", "/api/alice/tasks", alice, `{"title":"x"}`, nil, 400, nil},
		{"a made-up method, no token", "FROB", "/healthz", "", nil, nil, 400, nil},
		{"body over 64 KiB", "POST", "/api/alice/tasks", alice, `{"title":"x","description":"` + strings.Repeat("a", 64*1024) + `"}`, nil, 413, nil},
		{"body of 64 KiB on a task", "PATCH", one + "/toggle", alice, `{"completed":true}` + strings.Repeat(" ", 64*1024), nil, 413, nil},
		{"text/plain body", "POST", "/api/alice/tasks", alice, `{"title":"x"}`, []string{"Content-Type", "text/plain"}, 415, nil},
		{"form body", "PATCH", one, alice, `title=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, nil},
		{"body without a content type", "PUT", one, alice, `{"title":"x"}`, []string{"Content-Type", ""}, 415, nil},
		{"headers over 16 KiB", "GET", "/api/alice/tasks", alice, nil, []string{"X-Padding", strings.Repeat("p", 20*1024)}, 431, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, tc.token, tc.body, tc.headers...)
			r.problem(t, tc.status)
			allow := r.header.Get("Allow")
			for _, m := range tc.allowIncludes {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow %q lacks %s", allow, m)
				}
			}
		})
	}
	t.Run("a JSON content type with charset is accepted", func(t *testing.T) {
		r := e.call("PATCH", one, alice, `{"title":"y"}`, "Content-Type", "application/json; charset=utf-8")
		if r.status != 200 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("nothing was changed by the refused requests", func(t *testing.T) {
		var n int64
		e.db.Table("tasks").Count(&n)
		if got := e.call("GET", one, alice, nil).task(t); n != 1 || got.Title != "y" || got.Version != 2 {
			t.Errorf("%d rows, task %+v", n, got)
		}
	})
}

func TestCORS(t *testing.T) {
	e := newEnv(t, config.SQLite)
	preflight := func(origin string) response {
		return e.call("OPTIONS", "/api/alice/tasks", "", nil,
			"Origin", origin,
			"Access-Control-Request-Method", "PATCH",
			"Access-Control-Request-Headers", "authorization,content-type,if-match,idempotency-key")
	}
	t.Run("allowed origin", func(t *testing.T) {
		r := preflight("http://localhost:3000")
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
			t.Fatalf("%d %v", r.status, r.header)
		}
		for _, want := range []string{"PATCH", "DELETE", "PUT"} {
			if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), want) {
				t.Errorf("Allow-Methods %q lacks %s", r.header.Get("Access-Control-Allow-Methods"), want)
			}
		}
		for _, want := range []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"} {
			if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), want) {
				t.Errorf("Allow-Headers %q lacks %s", r.header.Get("Access-Control-Allow-Headers"), want)
			}
		}
	})
	t.Run("other origin", func(t *testing.T) {
		r := preflight("http://evil.example")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin %q for a foreign origin", got)
		}
	})
	t.Run("exposed headers on a real request", func(t *testing.T) {
		r := e.call("GET", "/api/alice/tasks", e.token("alice"), nil, "Origin", "http://localhost:3000")
		exposed := r.header.Get("Access-Control-Expose-Headers")
		for _, want := range []string{"ETag", "Location", "X-Total-Count", "Link", "X-Request-ID"} {
			if !strings.Contains(exposed, want) {
				t.Errorf("Expose-Headers %q lacks %s", exposed, want)
			}
		}
	})
}

func TestHealthAndRequestID(t *testing.T) {
	e := newEnv(t, config.SQLite)
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.call("GET", path, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"status"`) {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	t.Run("request id echoed when safe, replaced otherwise", func(t *testing.T) {
		if got := e.call("GET", "/healthz", "", nil, "X-Request-ID", "abc-123.X_y").header.Get("X-Request-ID"); got != "abc-123.X_y" {
			t.Errorf("echoed %q", got)
		}
		for _, bad := range []string{"", "has space", "<script>", strings.Repeat("a", 129)} {
			got := e.call("GET", "/healthz", "", nil, "X-Request-ID", bad).header.Get("X-Request-ID")
			if got == bad || len(got) != 32 {
				t.Errorf("for %q got %q", bad, got)
			}
		}
	})
	t.Run("readyz is 503 when the database is gone", func(t *testing.T) {
		if err := database.Close(e.db); err != nil {
			t.Fatal(err)
		}
		p := e.call("GET", "/readyz", "", nil).problem(t, 503)
		if !strings.Contains(p.Detail, "database") {
			t.Errorf("detail %q does not name the database", p.Detail)
		}
		if r := e.call("GET", "/healthz", "", nil); r.status != 200 {
			t.Errorf("healthz %d without a database", r.status)
		}
	})
}
