package server_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"todo-api/internal/orderkey"
)

// move posts a task move and returns the task, failing unless it is a 200.
func (e *env) move(t *testing.T, user string, id int64, body map[string]any) task {
	t.Helper()
	r := e.call("POST", fmt.Sprintf("/api/%s/tasks/%d/move", user, id), e.token(user), body)
	if r.status != 200 {
		t.Fatalf("move %d %v: %d %s", id, body, r.status, r.body)
	}
	return r.task(t)
}

// order is the ids of user's tasks that query selects, sort=position.
func (e *env) order(t *testing.T, user, query string) []int64 {
	t.Helper()
	return e.call("GET", "/api/"+user+"/tasks?sort=position&"+query, e.token(user), nil).ids(t, user)
}

// TestMoveTask: new tasks go first; a move puts a task after a sibling or
// first, into another list with its subtasks, under a parent; a move to
// where the task is writes nothing; siblings are never written.
func TestMoveTask(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		home := e.newList("alice", map[string]any{"name": "Home"})
		c := e.create("alice", map[string]any{"title": "c"})
		b := e.create("alice", map[string]any{"title": "b"})
		a := e.create("alice", map[string]any{"title": "a"})
		if got := e.order(t, "alice", "list=inbox"); !slices.Equal(got, []int64{a.ID, b.ID, c.ID}) {
			t.Fatalf("new tasks go first: %v", got)
		}
		if got := e.move(t, "alice", a.ID, map[string]any{"after_id": c.ID}); got.Version != 2 {
			t.Errorf("moved task version %d", got.Version)
		}
		if got := e.order(t, "alice", "list=inbox"); !slices.Equal(got, []int64{b.ID, c.ID, a.ID}) {
			t.Errorf("a after c: %v", got)
		}
		if got := e.move(t, "alice", a.ID, map[string]any{"after_id": c.ID}); got.Version != 2 {
			t.Errorf("a move to where it is wrote: version %d", got.Version)
		}
		e.move(t, "alice", a.ID, map[string]any{"after_id": nil})
		e.move(t, "alice", c.ID, map[string]any{"after_id": a.ID})
		if got := e.order(t, "alice", "list=inbox"); !slices.Equal(got, []int64{a.ID, c.ID, b.ID}) {
			t.Errorf("a first, c after a: %v", got)
		}
		// A PUT or PATCH that leaves the task where it is keeps its place.
		e.call("PUT", fmt.Sprintf("/api/alice/tasks/%d", c.ID), e.token("alice"), map[string]any{"title": "c, renamed"})
		e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", c.ID), e.token("alice"), map[string]any{"list_id": nil, "parent_id": nil})
		if got := e.order(t, "alice", "list=inbox"); !slices.Equal(got, []int64{a.ID, c.ID, b.ID}) {
			t.Errorf("after a PUT and a PATCH that keep c's place: %v", got)
		}
		step := e.create("alice", map[string]any{"title": "step", "parent_id": b.ID})
		moved := e.move(t, "alice", b.ID, map[string]any{"list_id": home.ID})
		if moved.ListID == nil || *moved.ListID != home.ID {
			t.Fatalf("moved into home: %+v", moved)
		}
		if got := e.order(t, "alice", fmt.Sprintf("list=%d", home.ID)); !slices.Contains(got, step.ID) {
			t.Errorf("the subtask stayed behind: home holds %v", got)
		}
		under := e.move(t, "alice", c.ID, map[string]any{"parent_id": b.ID, "after_id": step.ID})
		if under.ParentID == nil || *under.ParentID != b.ID || under.ListID == nil || *under.ListID != home.ID {
			t.Errorf("c under b: %+v", under)
		}
		if got := e.order(t, "alice", fmt.Sprintf("parent=%d", b.ID)); !slices.Equal(got, []int64{step.ID, c.ID}) {
			t.Errorf("b's subtasks %v", got)
		}
		if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", a.ID), e.token("alice"), nil).task(t); got.Version != 3 {
			t.Errorf("a sibling's version moved with others' moves: %d", got.Version)
		}
	})
}

// TestMoveRefusals: a move names the field at fault, treats another user's
// list, parent or sibling as unknown, and changes nothing.
func TestMoveRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		bobs := e.newList("bob", map[string]any{"name": "Bob's"})
		bobTask := e.create("bob", map[string]any{"title": "bob's", "list_id": bobs.ID})
		mine := e.create("alice", map[string]any{"title": "mine"})
		other := e.create("alice", map[string]any{"title": "other"})
		home := e.newList("alice", map[string]any{"name": "Home"})
		inHome := e.create("alice", map[string]any{"title": "in home", "list_id": home.ID})
		for _, tc := range []struct {
			name  string
			body  any
			field string
		}{
			{"into bob's list", map[string]any{"list_id": bobs.ID}, "list_id"},
			{"under bob's task", map[string]any{"parent_id": bobTask.ID}, "parent_id"},
			{"after bob's task", map[string]any{"after_id": bobTask.ID}, "after_id"},
			{"after a task elsewhere", map[string]any{"after_id": inHome.ID}, "after_id"},
			{"after itself", map[string]any{"after_id": mine.ID}, "after_id"},
			{"under itself", map[string]any{"parent_id": mine.ID}, "parent_id"},
			{"unknown member", map[string]any{"position": "a0"}, "position"},
			{"list id 0", map[string]any{"list_id": 0}, "list_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, bobBefore := e.row(t, mine.ID), e.row(t, bobTask.ID)
				p := e.call("POST", fmt.Sprintf("/api/alice/tasks/%d/move", mine.ID), e.token("alice"), tc.body).problem(t, 422)
				if !slices.Equal(p.fields(), []string{tc.field}) {
					t.Errorf("fields %v, want %s", p.fields(), tc.field)
				}
				e.unchanged(t, mine.ID, before)
				e.unchanged(t, bobTask.ID, bobBefore)
			})
		}
		if r := e.call("POST", fmt.Sprintf("/api/bob/tasks/%d/move", mine.ID), e.token("bob"), map[string]any{"list_id": bobs.ID}); r.status != 404 {
			t.Errorf("bob moving alice's task: %d", r.status)
		}
		if r := e.call("POST", fmt.Sprintf("/api/alice/tasks/%d/move", other.ID), e.token("alice"), map[string]any{"after_id": nil}, "If-Match", `"1-9"`); r.status != 412 {
			t.Errorf("stale If-Match: %d", r.status)
		}
	})
}

// TestMoveSameGapThousandTimes: a task moved 1,000 times into the same
// gap (between two siblings, and back to the top in between) keeps a short
// key, and no sibling is written.
func TestMoveSameGapThousandTimes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var siblings []task
		for i := range 5 {
			siblings = append(siblings, e.create("alice", map[string]any{"title": fmt.Sprint("sibling ", i)}))
		}
		moved := e.create("alice", map[string]any{"title": "moved"})
		gapAfter := siblings[2] // order: moved, 4, 3, 2, 1, 0
		longest := 0
		for i := range 1000 {
			body := map[string]any{"after_id": gapAfter.ID}
			if i%2 == 1 {
				body = map[string]any{"after_id": nil}
			}
			got := e.move(t, "alice", moved.ID, body)
			longest = max(longest, len(got.Position))
		}
		if longest > 12 {
			t.Errorf("keys grew to %d characters", longest)
		}
		for _, s := range siblings {
			if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", s.ID), e.token("alice"), nil).task(t); got.Version != 1 {
				t.Errorf("sibling %q was written: version %d", s.Title, got.Version)
			}
		}
		want := []int64{moved.ID, siblings[4].ID, siblings[3].ID, siblings[2].ID, siblings[1].ID, siblings[0].ID}
		if got := e.order(t, "alice", ""); !slices.Equal(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
	})
}

// TestMoveNarrowingGap splits one gap again and again, each move putting a
// task between the gap's left end and the task moved before it: keys grow
// until one would pass orderkey.MaxLen, then the siblings are renumbered
// once, in one statement, and the order stays what the moves asked for.
func TestMoveNarrowingGap(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		right := e.create("alice", map[string]any{"title": "right"})
		left := e.create("alice", map[string]any{"title": "left"}) // first
		x := e.create("alice", map[string]any{"title": "x"})
		y := e.create("alice", map[string]any{"title": "y"})
		// Each move goes right after left, so the newcomer sits between
		// left and the one moved before it.
		cur := []task{x, y}
		for i := range 400 {
			got := e.move(t, "alice", cur[i%2].ID, map[string]any{"after_id": left.ID})
			if len(got.Position) > orderkey.MaxLen {
				t.Fatalf("key of %d characters", len(got.Position))
			}
		}
		// The last moved (y, i = 399) is right after left, then x, then right.
		want := []int64{left.ID, y.ID, x.ID, right.ID}
		if got := e.order(t, "alice", ""); !slices.Equal(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
		// The renumbering is a change of every sibling's key, so it shows.
		if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", right.ID), e.token("alice"), nil).task(t); got.Version == 1 {
			t.Error("400 splits of one gap never renumbered")
		}
	})
}

// TestConcurrentMovesSameGap: moves into the same gap at once end in one
// total order, the same for every reader (equal keys are ordered by id).
func TestConcurrentMovesSameGap(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		right := e.create("alice", map[string]any{"title": "right"})
		left := e.create("alice", map[string]any{"title": "left"})
		var movers []task
		for i := range 6 {
			movers = append(movers, e.create("alice", map[string]any{"title": fmt.Sprint("mover ", i)}))
		}
		var wg sync.WaitGroup
		for _, m := range movers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.call("POST", fmt.Sprintf("/api/alice/tasks/%d/move", m.ID), e.token("alice"), map[string]any{"after_id": left.ID})
				if r.status != 200 {
					t.Errorf("move: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		first := e.order(t, "alice", "")
		for range 3 {
			if again := e.order(t, "alice", ""); !slices.Equal(again, first) {
				t.Fatalf("readers disagree: %v then %v", first, again)
			}
		}
		if first[0] != left.ID || first[len(first)-1] != right.ID || len(first) != 8 {
			t.Errorf("the movers left the gap: %v", first)
		}
		var pages []int64
		for off := 0; off < 8; off += 3 {
			pages = append(pages, e.call("GET", fmt.Sprintf("/api/alice/tasks?sort=position&limit=3&offset=%d", off), e.token("alice"), nil).ids(t, "alice")...)
		}
		if !slices.Equal(pages, first) {
			t.Errorf("pages %v differ from the whole %v", pages, first)
		}
	})
}
