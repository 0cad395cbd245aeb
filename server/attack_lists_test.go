package server_test

import (
	"fmt"
	"reflect"
	"testing"
)

// TestAttackLists is broken object-level authorisation against lists and
// the places of tasks: Bob on Alice's path for every list endpoint (403),
// Bob on his own path with Alice's list ids through every list endpoint
// (404, byte for byte the answer for a list that does not exist), and
// Alice's list and task ids in Bob's task bodies, moves and filters (the
// same 422 as an unknown id, or nothing selected). After every case
// Alice's rows are as they were.
func TestAttackLists(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice, bob := e.token("alice"), e.token("bob")
		victim := e.newList("alice", map[string]any{"name": "Alice's secret list", "color": "#ff0000"})
		empty := e.newList("alice", map[string]any{"name": "Alice's empty list"})
		inList := e.create("alice", map[string]any{"title": "alice's filed task", "list_id": victim.ID})
		step := e.create("alice", map[string]any{"title": "alice's step", "parent_id": inList.ID})
		ownList := e.newList("bob", map[string]any{"name": "Bob's"})
		own := e.create("bob", map[string]any{"title": "bob's", "list_id": ownList.ID})
		missing := victim.ID + empty.ID + ownList.ID + 1000

		listRow := func(id int64) map[string]any {
			m := map[string]any{}
			if err := e.db.Table("lists").Where("id = ?", id).Take(&m).Error; err != nil {
				t.Fatalf("reading list %d: %v", id, err)
			}
			return m
		}
		lists := map[int64]map[string]any{victim.ID: listRow(victim.ID), empty.ID: listRow(empty.ID)}
		tasks := map[int64]map[string]any{inList.ID: e.row(t, inList.ID), step.ID: e.row(t, step.ID)}
		rows, listCount := e.countRows(), e.countLists()
		aliceIntact := func(t *testing.T, _ response) {
			t.Helper()
			for id, before := range lists {
				if now := listRow(id); !reflect.DeepEqual(now, before) {
					t.Errorf("list %d changed:\nbefore %v\nafter  %v", id, before, now)
				}
			}
			for id, before := range tasks {
				e.unchanged(t, id, before)
			}
			if n := e.countRows(); n != rows {
				t.Errorf("%d task rows, %d before", n, rows)
			}
			if n := e.countLists(); n != listCount {
				t.Errorf("%d lists, %d before", n, listCount)
			}
		}

		t.Run("Bob on Alice's path", func(t *testing.T) {
			one := fmt.Sprintf("/api/alice/lists/%d", victim.ID)
			cases := []attack{
				{name: "list lists", method: "GET", path: "/api/alice/lists"},
				{name: "create list", method: "POST", path: "/api/alice/lists", body: map[string]any{"name": "planted"}},
				{name: "get list", method: "GET", path: one},
				{name: "patch list", method: "PATCH", path: one, body: map[string]any{"name": "pwned"}},
				{name: "delete list", method: "DELETE", path: one + "?tasks=delete"},
				{name: "move list", method: "POST", path: one + "/move", body: map[string]any{"after_id": nil}},
				{name: "move task", method: "POST", path: fmt.Sprintf("/api/alice/tasks/%d/move", inList.ID), body: map[string]any{"list_id": nil}},
				{name: "stats of a list", method: "GET", path: fmt.Sprintf("/api/alice/tasks/stats?list=%d", victim.ID)},
			}
			for i := range cases {
				cases[i].token, cases[i].status, cases[i].check = bob, 403, aliceIntact
			}
			runAttacks(t, e, cases)
		})

		t.Run("Bob on his path with Alice's list ids", func(t *testing.T) {
			for _, tc := range []struct {
				name, method, suffix string
				body                 any
			}{
				{"get", "GET", "", nil},
				{"patch", "PATCH", "", map[string]any{"name": "pwned"}},
				{"patch with If-Match", "PATCH", "", map[string]any{"color": nil}},
				{"delete", "DELETE", "", nil},
				{"delete with its tasks", "DELETE", "?tasks=delete", nil},
				{"delete to the inbox", "DELETE", "?tasks=inbox", nil},
				{"move", "POST", "/move", map[string]any{"after_id": nil}},
				{"move after his own", "POST", "/move", map[string]any{"after_id": ownList.ID}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					absent := e.call(tc.method, fmt.Sprintf("/api/bob/lists/%d%s", missing, tc.suffix), bob, tc.body)
					for _, id := range []int64{victim.ID, empty.ID} {
						r := e.call(tc.method, fmt.Sprintf("/api/bob/lists/%d%s", id, tc.suffix), bob, tc.body)
						r.problem(t, 404)
						if string(r.body) != string(absent.body) {
							t.Errorf("Alice's list answers %s, a missing one %s", r.body, absent.body)
						}
						aliceIntact(t, r)
					}
				})
			}
		})

		t.Run("Alice's ids in Bob's bodies, moves and filters", func(t *testing.T) {
			mine := fmt.Sprintf("/api/bob/tasks/%d", own.ID)
			unknownList := e.call("POST", "/api/bob/tasks", bob, map[string]any{"title": "x", "list_id": missing}).problem(t, 422)
			unknownParent := e.call("POST", "/api/bob/tasks", bob, map[string]any{"title": "x", "parent_id": missing}).problem(t, 422)
			unknownAfter := e.call("POST", mine+"/move", bob, map[string]any{"after_id": missing}).problem(t, 422)
			unknownAfterList := e.call("POST", fmt.Sprintf("/api/bob/lists/%d/move", ownList.ID), bob, map[string]any{"after_id": missing}).problem(t, 422)
			sameAs := func(want problemBody) func(t *testing.T, r response) {
				return func(t *testing.T, r response) {
					t.Helper()
					if got := r.problem(t, 422); got.Detail != want.Detail || !reflect.DeepEqual(got.Errors, want.Errors) {
						t.Errorf("answer %s differs from an unknown id's %q", r.body, want.Detail)
					}
					aliceIntact(t, r)
				}
			}
			cases := []attack{
				{name: "create into her list", method: "POST", path: "/api/bob/tasks", body: map[string]any{"title": "planted", "list_id": victim.ID}, check: sameAs(unknownList)},
				{name: "create under her task", method: "POST", path: "/api/bob/tasks", body: map[string]any{"title": "planted", "parent_id": inList.ID}, check: sameAs(unknownParent)},
				{name: "create under her task with an Idempotency-Key", method: "POST", path: "/api/bob/tasks", headers: []string{"Idempotency-Key", "k-1"}, body: map[string]any{"title": "planted", "parent_id": inList.ID}, check: sameAs(unknownParent)},
				{name: "put into her list", method: "PUT", path: mine, body: map[string]any{"title": "bob's", "list_id": victim.ID}, check: sameAs(unknownList)},
				{name: "patch into her list", method: "PATCH", path: mine, body: map[string]any{"list_id": empty.ID}, check: sameAs(unknownList)},
				{name: "patch under her task", method: "PATCH", path: mine, body: map[string]any{"parent_id": step.ID}, check: sameAs(unknownParent)},
				{name: "move into her list", method: "POST", path: mine + "/move", body: map[string]any{"list_id": victim.ID}, check: sameAs(unknownList)},
				{name: "move under her task", method: "POST", path: mine + "/move", body: map[string]any{"parent_id": inList.ID}, check: sameAs(unknownParent)},
				{name: "move after her task", method: "POST", path: mine + "/move", body: map[string]any{"after_id": inList.ID}, check: sameAs(unknownAfter)},
				{name: "move his list after hers", method: "POST", path: fmt.Sprintf("/api/bob/lists/%d/move", ownList.ID), body: map[string]any{"after_id": victim.ID}, check: sameAs(unknownAfterList)},
			}
			for i := range cases {
				cases[i].token, cases[i].status = bob, 422
			}
			empties := func(t *testing.T, r response) {
				t.Helper()
				if got := r.ids(t, "bob"); len(got) != 0 {
					t.Errorf("bob sees %v", got)
				}
				aliceIntact(t, r)
			}
			cases = append(cases,
				attack{name: "filter by her list", method: "GET", path: fmt.Sprintf("/api/bob/tasks?list=%d", victim.ID), token: bob, status: 200, check: empties},
				attack{name: "filter by her parent", method: "GET", path: fmt.Sprintf("/api/bob/tasks?parent=%d", inList.ID), token: bob, status: 200, check: empties},
				attack{name: "stats of her list", method: "GET", path: fmt.Sprintf("/api/bob/tasks/stats?list=%d", victim.ID), token: bob, status: 200, check: func(t *testing.T, r response) {
					var s struct{ Total int64 }
					r.decode(t, &s)
					if s.Total != 0 {
						t.Errorf("bob counts %d tasks in alice's list", s.Total)
					}
					aliceIntact(t, r)
				}},
				attack{name: "his lists do not show hers", method: "GET", path: "/api/bob/lists", token: bob, status: 200, check: func(t *testing.T, r response) {
					var got []list
					r.decode(t, &got)
					if len(got) != 1 || got[0].ID != ownList.ID || got[0].TaskCount != 1 {
						t.Errorf("bob's lists: %s", r.body)
					}
					aliceIntact(t, r)
				}},
				attack{name: "a list name of hers is free for him", method: "POST", path: "/api/bob/lists", token: bob, body: map[string]any{"name": "ALICE'S SECRET LIST"}, status: 201, check: func(t *testing.T, r response) {
					listCount++
					aliceIntact(t, r)
				}},
			)
			runAttacks(t, e, cases)
		})
		// Alice still sees all of hers.
		if r := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", victim.ID), alice, nil); r.list(t).TaskCount != 2 {
			t.Errorf("alice's list: %s", r.body)
		}
	})
}
