package server_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestNoOpWrites: a PATCH, PUT or toggle whose result equals the stored task
// writes nothing: the answer is 200 with the task as it was, the same
// version, updated_at and ETag, and the row is untouched. If-Match is still
// checked.
func TestNoOpWrites(t *testing.T) {
	full := map[string]any{"title": "Same", "description": "d", "priority": "high", "tags": []string{"home", "work"},
		"due_date": "2026-12-01T17:00:00Z", "completed": true}
	cases := []struct {
		name   string
		method string
		suffix string
		body   any
	}{
		{"PATCH the same title", "PATCH", "", map[string]any{"title": "Same"}},
		{"PATCH a title that trims to the same", "PATCH", "", map[string]any{"title": "  Same "}},
		{"PATCH tags that normalise to the same", "PATCH", "", map[string]any{"tags": []string{"Home", " work", "home"}}},
		{"PATCH the same due date in another zone", "PATCH", "", map[string]any{"due_date": "2026-12-01T18:00:00+01:00"}},
		{"PATCH every field as it is", "PATCH", "", full},
		{"PUT the same task", "PUT", "", full},
		{"toggle to completed when completed", "PATCH", "/toggle", map[string]any{"completed": true}},
		{"complete when completed", "PATCH", "/complete", map[string]any{"completed": true}},
	}
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		tk := e.create("alice", full)
		path := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
		first := e.call("GET", path, alice, nil)
		etag := first.header.Get("ETag")
		before := e.row(t, tk.ID)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, ifMatch := range []string{"", etag} {
					var headers []string
					if ifMatch != "" {
						headers = []string{"If-Match", ifMatch}
					}
					r := e.call(tc.method, path+tc.suffix, alice, tc.body, headers...)
					if r.status != http.StatusOK {
						t.Fatalf("If-Match %q: %d %s", ifMatch, r.status, r.body)
					}
					got := r.task(t)
					if got.Version != tk.Version || !got.UpdatedAt.Equal(tk.UpdatedAt) || r.header.Get("ETag") != etag {
						t.Errorf("If-Match %q: version %d updated_at %v ETag %s, want %d %v %s",
							ifMatch, got.Version, got.UpdatedAt, r.header.Get("ETag"), tk.Version, tk.UpdatedAt, etag)
					}
					e.unchanged(t, tk.ID, before)
				}
				stale := fmt.Sprintf(`"%d-%d"`, tk.ID, tk.Version+7)
				e.call(tc.method, path+tc.suffix, alice, tc.body, "If-Match", stale).problem(t, http.StatusPreconditionFailed)
				e.unchanged(t, tk.ID, before)
			})
		}
		t.Run("bob's no-op on alice's task is a 404", func(t *testing.T) {
			bobs := fmt.Sprintf("/api/bob/tasks/%d", tk.ID)
			e.call("PATCH", bobs, e.token("bob"), map[string]any{"title": "Same"}).problem(t, http.StatusNotFound)
			e.unchanged(t, tk.ID, before)
		})
		t.Run("a real change still counts", func(t *testing.T) {
			got := e.call("PATCH", path, alice, map[string]any{"title": "Changed"}).task(t)
			if got.Version != tk.Version+1 || !got.UpdatedAt.After(tk.UpdatedAt) {
				t.Errorf("version %d updated_at %v after a real change", got.Version, got.UpdatedAt)
			}
		})
	})
}
