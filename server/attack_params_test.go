package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestAttackManyParameters: a query string of thousands of made-up or
// repeated parameters gets a short 422 — the first problems by name and a
// count of the rest — on the list, stats and clear-completed alike.
func TestAttackManyParameters(t *testing.T) {
	var unknown, repeated []string
	for i := 0; i < 1000; i++ { // about 6 to 8 KB, inside the 16 KiB header limit
		unknown = append(unknown, fmt.Sprintf("p%d=1", i))
		repeated = append(repeated, "status=pending")
	}
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice := e.token("alice")
		e.create("alice", map[string]any{"title": "kept", "completed": true})
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
		var cases []attack
		for _, q := range []struct{ name, query string }{{"unknown", strings.Join(unknown, "&")}, {"repeated", strings.Join(repeated, "&")}} {
			cases = append(cases,
				attack{name: "list, " + q.name, method: "GET", path: "/api/alice/tasks?" + q.query, token: alice, status: 422, check: short},
				attack{name: "stats, " + q.name, method: "GET", path: "/api/alice/tasks/stats?" + q.query, token: alice, status: 422, check: short},
				attack{name: "clear, " + q.name, method: "DELETE", path: "/api/alice/tasks?status=completed&" + q.query, token: alice, status: 422, check: short},
			)
		}
		runAttacks(t, e, cases)
	})
}
