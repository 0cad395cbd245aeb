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
		f := newListAttack(t, e)
		t.Run("Bob on Alice's path", f.bobOnAlicesPath)
		t.Run("Bob on his path with Alice's list ids", f.alicesListIDs)
		t.Run("Alice's ids in Bob's bodies, moves and filters", f.alicesIDsInBodies)
		// Alice still sees all of hers.
		if r := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", f.victim.ID), f.alice, nil); r.list(t).TaskCount != 2 {
			t.Errorf("alice's list: %s", r.body)
		}
	})
}

// listAttack is Alice's lists and tasks, Bob's own, and what every case
// checks afterwards.
type listAttack struct {
	e                      *env
	alice, bob             string
	victim, empty, ownList list
	inList, step, own      task
	missing                int64
	lists                  map[int64]map[string]any
	tasks                  map[int64]map[string]any
	rows, listCount        int64
}

func newListAttack(t *testing.T, e *env) *listAttack {
	f := &listAttack{e: e, alice: e.token("alice"), bob: e.token("bob")}
	f.victim = e.newList("alice", map[string]any{"name": "Alice's secret list", "color": "#ff0000"})
	f.empty = e.newList("alice", map[string]any{"name": "Alice's empty list"})
	f.inList = e.create("alice", map[string]any{"title": "alice's filed task", "list_id": f.victim.ID})
	f.step = e.create("alice", map[string]any{"title": "alice's step", "parent_id": f.inList.ID})
	f.ownList = e.newList("bob", map[string]any{"name": "Bob's"})
	f.own = e.create("bob", map[string]any{"title": "bob's", "list_id": f.ownList.ID})
	f.missing = f.victim.ID + f.empty.ID + f.ownList.ID + 1000
	f.lists = map[int64]map[string]any{f.victim.ID: f.listRow(t, f.victim.ID), f.empty.ID: f.listRow(t, f.empty.ID)}
	f.tasks = map[int64]map[string]any{f.inList.ID: e.row(t, f.inList.ID), f.step.ID: e.row(t, f.step.ID)}
	f.rows, f.listCount = e.countRows(), e.countLists()
	return f
}

func (f *listAttack) listRow(t *testing.T, id int64) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := f.e.db.Table("lists").Where("id = ?", id).Take(&m).Error; err != nil {
		t.Fatalf("reading list %d: %v", id, err)
	}
	return m
}

// aliceIntact is every case's after-check: Alice's lists and tasks are as
// they were and nothing was added or removed.
func (f *listAttack) aliceIntact(t *testing.T, _ response) {
	t.Helper()
	for id, before := range f.lists {
		if now := f.listRow(t, id); !reflect.DeepEqual(now, before) {
			t.Errorf("list %d changed:\nbefore %v\nafter  %v", id, before, now)
		}
	}
	for id, before := range f.tasks {
		f.e.unchanged(t, id, before)
	}
	if n := f.e.countRows(); n != f.rows {
		t.Errorf("%d task rows, %d before", n, f.rows)
	}
	if n := f.e.countLists(); n != f.listCount {
		t.Errorf("%d lists, %d before", n, f.listCount)
	}
}

func (f *listAttack) bobOnAlicesPath(t *testing.T) {
	e, bob, victim, inList := f.e, f.bob, f.victim, f.inList
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
		cases[i].token, cases[i].status, cases[i].check = bob, 403, f.aliceIntact
	}
	runAttacks(t, e, cases)
}

func (f *listAttack) alicesListIDs(t *testing.T) {
	e, bob, victim, empty, ownList, missing := f.e, f.bob, f.victim, f.empty, f.ownList, f.missing
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
				f.aliceIntact(t, r)
			}
		})
	}
}

func (f *listAttack) alicesIDsInBodies(t *testing.T) {
	e, bob, victim, empty, ownList, inList, step, own, missing := f.e, f.bob, f.victim, f.empty, f.ownList, f.inList, f.step, f.own, f.missing
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
			f.aliceIntact(t, r)
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
		f.aliceIntact(t, r)
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
			f.aliceIntact(t, r)
		}},
		attack{name: "his lists do not show hers", method: "GET", path: "/api/bob/lists", token: bob, status: 200, check: func(t *testing.T, r response) {
			var got []list
			r.decode(t, &got)
			if len(got) != 1 || got[0].ID != ownList.ID || got[0].TaskCount != 1 {
				t.Errorf("bob's lists: %s", r.body)
			}
			f.aliceIntact(t, r)
		}},
		attack{name: "a list name of hers is free for him", method: "POST", path: "/api/bob/lists", token: bob, body: map[string]any{"name": "ALICE'S SECRET LIST"}, status: 201, check: func(t *testing.T, r response) {
			f.listCount++
			f.aliceIntact(t, r)
		}},
	)
	runAttacks(t, e, cases)
}
