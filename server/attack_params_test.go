package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestAttackManyParameters: a query string of a thousand made-up or
// repeated parameters gets a short 422 — the first problems by name and a
// count of the rest — and changes nothing, on every endpoint that reads a
// query string (one walk of it, controllers/query.go).
func TestAttackManyParameters(t *testing.T) {
	many := func(param string) string {
		var ps []string
		for i := 0; i < 1000; i++ { // about 6 to 8 KB, inside the 16 KiB header limit
			ps = append(ps, fmt.Sprintf(param, i))
		}
		return strings.Join(ps, "&")
	}
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice := e.token("alice")
		e.create("alice", map[string]any{"title": "kept", "completed": true})
		var list struct{ ID int64 }
		e.call("POST", "/api/alice/lists", alice, map[string]any{"name": "Kept"}).decode(t, &list)
		// A task in the list: a delete that went through would change the count.
		e.create("alice", map[string]any{"title": "filed", "list_id": list.ID})
		rows := e.countRows()
		short := func(t *testing.T, r response) {
			t.Helper()
			p := r.problem(t, 422)
			if len(r.body) > 4096 || len(p.Errors) != 11 || p.Errors[10].Field != "(more)" {
				t.Errorf("%d bytes, %d errors: %.300s", len(r.body), len(p.Errors), r.body)
			}
			if n := e.countRows(); n != rows {
				t.Errorf("%d rows, %d before", n, rows)
			}
		}
		// Each endpoint with one parameter it takes, given as often as 10 KB hold.
		var cases []attack
		for _, ep := range []struct{ name, method, path, own string }{
			{"list", "GET", "/api/alice/tasks?", "status=pending"},
			{"stats", "GET", "/api/alice/tasks/stats?", "tz=UTC"},
			{"clear", "DELETE", "/api/alice/tasks?status=completed&", "status=completed"},
			{"changes", "GET", "/api/alice/tasks/changes?", "limit=5"},
			{"events", "GET", "/api/alice/events?", "since=c_x"},
			{"lists", "GET", "/api/alice/lists?", "x=1"},
			{"list delete", "DELETE", fmt.Sprintf("/api/alice/lists/%d?", list.ID), "tasks=inbox"},
		} {
			cases = append(cases,
				attack{name: ep.name + ", unknown", method: ep.method, path: ep.path + many("p%d=1"), token: alice, status: 422, check: short},
				attack{name: ep.name + ", repeated", method: ep.method, path: ep.path + strings.Repeat(ep.own+"&", 10000/(len(ep.own)+1)), token: alice, status: 422, check: short},
			)
		}
		runAttacks(t, e, cases)
	})
}
