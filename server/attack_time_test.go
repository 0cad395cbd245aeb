package server_test

import (
	"fmt"
	"net/url"
	"testing"
)

// TestAttackTimes sends times whose UTC instant lies outside the years 0001
// to 9999 in every place a time goes in: a create, a replace, a patch, the
// list's filters. Each is a 422 naming the field and changes nothing, and
// the list keeps answering. Times at the very edges are accepted and read
// back; a recurring series whose next occurrence would leave the range ends.
func TestAttackTimes(t *testing.T) {
	outside := []string{
		"0000-01-01T00:30:00+01:00", // year -1 in UTC
		"0000-12-31T23:59:59Z",      // year 0
		"9999-12-31T23:59:59-23:59", // year 10000 in UTC
		"9999-12-31T23:59:59.9999999-00:01",
	}
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice := e.token("alice")
		tk := e.create("alice", map[string]any{"title": "target", "due_date": "2026-12-01T17:00:00Z"})
		one := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
		before := e.row(t, tk.ID)
		rows := e.countRows()
		refused := func(field string) func(*testing.T, response) {
			return func(t *testing.T, r response) {
				t.Helper()
				p := r.problem(t, 422)
				if len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("want one error naming %s: %s", field, r.body)
				}
				e.unchanged(t, tk.ID, before)
				if n := e.countRows(); n != rows {
					t.Errorf("%d task rows, %d before", n, rows)
				}
			}
		}
		var cases []attack
		for _, at := range outside {
			body := map[string]any{"title": "x", "due_date": at}
			cases = append(cases,
				attack{name: "POST " + at, method: "POST", path: "/api/alice/tasks", body: body, status: 422, check: refused("due_date")},
				attack{name: "PUT " + at, method: "PUT", path: one, body: body, status: 422, check: refused("due_date")},
				attack{name: "PATCH " + at, method: "PATCH", path: one, body: map[string]any{"due_date": at}, status: 422, check: refused("due_date")},
				attack{name: "POST idempotent " + at, method: "POST", path: "/api/alice/tasks", body: body, headers: []string{"Idempotency-Key", "k-" + at}, status: 422, check: refused("due_date")},
			)
			for _, param := range []string{"due_before", "due_after"} {
				cases = append(cases, attack{name: param + "=" + at, method: "GET", path: "/api/alice/tasks?" + param + "=" + url.QueryEscape(at), status: 422, check: refused(param)})
			}
		}
		for i := range cases {
			cases[i].token = alice
		}
		runAttacks(t, e, cases)

		t.Run("the edges are accepted and read back", func(t *testing.T) {
			for _, at := range []string{"0001-01-01T00:00:00Z", "0001-01-01T00:59:00+00:59", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.9999999Z"} {
				created := e.create("alice", map[string]any{"title": "edge", "due_date": at})
				got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", created.ID), alice, nil).task(t)
				if got.DueDate == nil || !got.DueDate.Equal(*created.DueDate) {
					t.Errorf("%s: read back %v, created %v", at, got.DueDate, created.DueDate)
				}
			}
			for _, q := range []string{"", "?sort=due_date", "?due_before=9999-12-31T23:59:59.999999Z", "?due_after=0001-01-01T00:00:00Z"} {
				if r := e.call("GET", "/api/alice/tasks"+q, alice, nil); r.status != 200 {
					t.Errorf("list%s: %d %s", q, r.status, r.body)
				}
			}
		})

		t.Run("a series that would leave the range ends", func(t *testing.T) {
			last := e.create("alice", map[string]any{"title": "last day", "due_date": "9999-12-31T12:00:00Z", "recurrence": "daily"})
			done := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", last.ID), alice, nil)
			got := done.task(t)
			if done.status != 200 || !got.Completed || got.NextTaskID != nil {
				t.Fatalf("completing the last occurrence: %d %s", done.status, done.body)
			}
			if r := e.call("GET", "/api/alice/tasks", alice, nil); r.status != 200 {
				t.Fatalf("list after the series ended: %d %s", r.status, r.body)
			}
		})
	})
}
