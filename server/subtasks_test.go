package server_test

import (
	"fmt"
	"slices"
	"testing"

	"todo-api/models"
)

// TestTaskPlaceRules files tasks into lists and under parents, and refuses
// every place that is not the caller's or breaks the one-level rule: the
// answer names the field, another user's list or task reads exactly like
// an unknown one, and nothing is written.
func TestTaskPlaceRules(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		home := e.newList("alice", map[string]any{"name": "Home"})
		work := e.newList("alice", map[string]any{"name": "Work"})
		bobs := e.newList("bob", map[string]any{"name": "Bob's"})
		bobTask := e.create("bob", map[string]any{"title": "bob's"})
		parent := e.create("alice", map[string]any{"title": "parent", "list_id": home.ID})
		if parent.ListID == nil || *parent.ListID != home.ID || parent.ParentID != nil {
			t.Fatalf("created in a list: %+v", parent)
		}
		sub := e.create("alice", map[string]any{"title": "step", "parent_id": parent.ID})
		if sub.ListID == nil || *sub.ListID != home.ID || sub.ParentID == nil || *sub.ParentID != parent.ID {
			t.Fatalf("a subtask takes its parent's list: %+v", sub)
		}
		loose := e.create("alice", map[string]any{"title": "loose"})

		unknownList := e.call("POST", "/api/alice/tasks", alice, map[string]any{"title": "x", "list_id": bobs.ID + 1000}).problem(t, 422)
		unknownParent := e.call("POST", "/api/alice/tasks", alice, map[string]any{"title": "x", "parent_id": bobTask.ID + 1000}).problem(t, 422)
		for _, tc := range []struct {
			name, method, path string
			body               map[string]any
			field              string
			same               *problemBody // the answer must equal this one, byte for byte in detail
		}{
			{"bob's list on create", "POST", "/api/alice/tasks", map[string]any{"title": "x", "list_id": bobs.ID}, "list_id", &unknownList},
			{"bob's task as parent on create", "POST", "/api/alice/tasks", map[string]any{"title": "x", "parent_id": bobTask.ID}, "parent_id", &unknownParent},
			{"bob's list on PATCH", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", loose.ID), map[string]any{"list_id": bobs.ID}, "list_id", &unknownList},
			{"bob's list on PUT", "PUT", fmt.Sprintf("/api/alice/tasks/%d", loose.ID), map[string]any{"title": "loose", "list_id": bobs.ID}, "list_id", &unknownList},
			{"bob's task as parent on PATCH", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", loose.ID), map[string]any{"parent_id": bobTask.ID}, "parent_id", &unknownParent},
			{"list id 0", "POST", "/api/alice/tasks", map[string]any{"title": "x", "list_id": 0}, "list_id", &unknownList},
			{"a subtask as parent", "POST", "/api/alice/tasks", map[string]any{"title": "x", "parent_id": sub.ID}, "parent_id", nil},
			{"itself as parent", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", loose.ID), map[string]any{"parent_id": loose.ID}, "parent_id", nil},
			{"a parent under another task", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", parent.ID), map[string]any{"parent_id": loose.ID}, "parent_id", nil},
			{"another list than the parent's", "POST", "/api/alice/tasks", map[string]any{"title": "x", "parent_id": parent.ID, "list_id": work.ID}, "list_id", nil},
			{"a subtask out of its parent's list", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", sub.ID), map[string]any{"list_id": work.ID}, "list_id", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rows := e.countRows()
				before := e.row(t, loose.ID)
				p := e.call(tc.method, tc.path, alice, tc.body).problem(t, 422)
				if !slices.Equal(p.fields(), []string{tc.field}) {
					t.Errorf("fields %v, want %s (%s)", p.fields(), tc.field, p.Detail)
				}
				if tc.same != nil && (p.Detail != tc.same.Detail || p.Errors[0].Message != tc.same.Errors[0].Message) {
					t.Errorf("answer %q differs from an unknown id's %q", p.Detail, tc.same.Detail)
				}
				if n := e.countRows(); n != rows {
					t.Errorf("%d rows, %d before", n, rows)
				}
				e.unchanged(t, loose.ID, before)
			})
		}

		// A parent moved to another list takes its subtasks along, in one write.
		moved := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", parent.ID), alice, map[string]any{"list_id": work.ID}).task(t)
		if moved.ListID == nil || *moved.ListID != work.ID {
			t.Fatalf("moved parent: %+v", moved)
		}
		if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", sub.ID), alice, nil).task(t); got.ListID == nil || *got.ListID != work.ID {
			t.Errorf("the subtask stayed behind: %+v", got)
		}
		// A PATCH that files the task where it is writes nothing.
		if again := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", parent.ID), alice, map[string]any{"list_id": work.ID}).task(t); again.Version != moved.Version {
			t.Errorf("a no-op PATCH of list_id wrote: version %d, %d before", again.Version, moved.Version)
		}
		// Back to the inbox, and a loose task under the parent.
		e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", parent.ID), alice, map[string]any{"list_id": nil})
		if got := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", loose.ID), alice, map[string]any{"parent_id": parent.ID}).task(t); got.ParentID == nil || got.ListID != nil {
			t.Errorf("loose under parent: %+v", got)
		}
	})
}

// TestSubtaskEffects: completing a parent completes its pending subtasks
// in the same write (reopening it reopens none); deleting a parent, also
// through clear-completed, deletes its subtasks; a recurring parent's next
// occurrence gets pending copies of its subtasks, in their order.
func TestSubtaskEffects(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		get := func(id int64) task { return e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", id), alice, nil).task(t) }
		parent := e.create("alice", map[string]any{"title": "parent"})
		a := e.create("alice", map[string]any{"title": "a", "parent_id": parent.ID})
		b := e.create("alice", map[string]any{"title": "b", "parent_id": parent.ID, "completed": true})
		bob := e.create("bob", map[string]any{"title": "bob's"})

		e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", parent.ID), alice, nil)
		if got := get(a.ID); !got.Completed || got.Version != 2 {
			t.Errorf("pending subtask after completing the parent: %+v", got)
		}
		if got := get(b.ID); got.Version != 1 {
			t.Errorf("a completed subtask was written again: version %d", got.Version)
		}
		e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", parent.ID), alice, nil)
		if got := get(a.ID); !got.Completed {
			t.Errorf("reopening the parent reopened a subtask")
		}

		if r := e.call("DELETE", fmt.Sprintf("/api/alice/tasks/%d", parent.ID), alice, nil); r.status != 204 {
			t.Fatalf("delete parent: %d", r.status)
		}
		for _, id := range []int64{a.ID, b.ID} {
			if r := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", id), alice, nil); r.status != 404 {
				t.Errorf("subtask %d outlived its parent: %d", id, r.status)
			}
		}
		done := e.create("alice", map[string]any{"title": "done parent", "completed": true})
		pending := e.create("alice", map[string]any{"title": "pending step", "parent_id": done.ID})
		e.call("DELETE", "/api/alice/tasks?status=completed", alice, nil)
		if r := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", pending.ID), alice, nil); r.status != 404 {
			t.Errorf("clear-completed left a deleted parent's subtask: %d", r.status)
		}
		if get := e.call("GET", fmt.Sprintf("/api/bob/tasks/%d", bob.ID), e.token("bob"), nil); get.status != 200 {
			t.Errorf("bob's task: %d", get.status)
		}

		series := e.create("alice", map[string]any{"title": "weekly review", "due_date": "2026-12-01T09:00:00Z", "recurrence": "weekly"})
		e.create("alice", map[string]any{"title": "inbox zero", "parent_id": series.ID})
		e.create("alice", map[string]any{"title": "plan", "parent_id": series.ID, "completed": true})
		completed := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", series.ID), alice, map[string]any{"completed": true}).task(t)
		if completed.NextTaskID == nil {
			t.Fatal("no next occurrence")
		}
		var copies []task
		e.call("GET", fmt.Sprintf("/api/alice/tasks?parent=%d&sort=position", *completed.NextTaskID), alice, nil).decode(t, &copies)
		var titles []string
		for _, c := range copies {
			if c.Completed {
				t.Errorf("copied subtask %q is completed", c.Title)
			}
			titles = append(titles, c.Title)
		}
		if !slices.Equal(titles, []string{"plan", "inbox zero"}) {
			t.Errorf("next occurrence's subtasks %v, want plan, inbox zero (newest first, as the original's)", titles)
		}
	})
}

// TestSubtaskLimit: a parent has at most 100 subtasks (422 naming
// parent_id).
func TestSubtaskLimit(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		parent := e.create("alice", map[string]any{"title": "parent"})
		subs := make([]models.Task, 100)
		for i := range subs {
			subs[i] = models.Task{UserID: "alice", Title: fmt.Sprint("step ", i), ParentID: &parent.ID}
		}
		if err := e.fixture().Create(&subs).Error; err != nil {
			t.Fatal(err)
		}
		p := e.call("POST", "/api/alice/tasks", e.token("alice"), map[string]any{"title": "one too many", "parent_id": parent.ID}).problem(t, 422)
		if !slices.Equal(p.fields(), []string{"parent_id"}) {
			t.Errorf("fields %v", p.fields())
		}
		e.create("alice", map[string]any{"title": "top level is fine"})
	})
}

// TestListAndParentFilters: list=<id>|inbox, parent=<id>|none and stats'
// list; another user's list or parent id selects nothing.
func TestListAndParentFilters(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		home := e.newList("alice", map[string]any{"name": "Home"})
		bobs := e.newList("bob", map[string]any{"name": "Bob's"})
		bobTask := e.create("bob", map[string]any{"title": "bob's", "list_id": bobs.ID})
		e.create("bob", map[string]any{"title": "bob's step", "parent_id": bobTask.ID})
		inbox := e.create("alice", map[string]any{"title": "inbox"})
		p := e.create("alice", map[string]any{"title": "home parent", "list_id": home.ID})
		s := e.create("alice", map[string]any{"title": "home step", "parent_id": p.ID, "completed": true})
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"list=inbox", []int64{inbox.ID}},
			{fmt.Sprintf("list=%d", home.ID), []int64{s.ID, p.ID}},
			{fmt.Sprintf("list=%d&parent=none", home.ID), []int64{p.ID}},
			{fmt.Sprintf("parent=%d", p.ID), []int64{s.ID}},
			{"parent=none", []int64{p.ID, inbox.ID}},
			{fmt.Sprintf("list=%d", bobs.ID), []int64{}},
			{fmt.Sprintf("parent=%d", bobTask.ID), []int64{}},
		} {
			t.Run(tc.query, func(t *testing.T) {
				got := e.call("GET", "/api/alice/tasks?"+tc.query, alice, nil).ids(t, "alice")
				if !slices.Equal(got, tc.want) {
					t.Errorf("ids %v, want %v", got, tc.want)
				}
			})
		}
		for _, q := range []string{"list=home", "list=0", "parent=-1", "list=inbox&list=inbox"} {
			pb := e.call("GET", "/api/alice/tasks?"+q, alice, nil).problem(t, 422)
			if len(pb.fields()) != 1 {
				t.Errorf("%s: fields %v", q, pb.fields())
			}
		}
		var st struct{ Total, Pending, Completed int64 }
		e.call("GET", fmt.Sprintf("/api/alice/tasks/stats?list=%d", home.ID), alice, nil).decode(t, &st)
		if st.Total != 2 || st.Pending != 1 || st.Completed != 1 {
			t.Errorf("stats of home: %+v", st)
		}
		e.call("GET", fmt.Sprintf("/api/alice/tasks/stats?list=%d", bobs.ID), alice, nil).decode(t, &st)
		if st.Total != 0 {
			t.Errorf("stats of bob's list for alice: %+v", st)
		}
		e.call("GET", "/api/alice/tasks/stats?list=inbox", alice, nil).decode(t, &st)
		if st.Total != 1 {
			t.Errorf("stats of the inbox: %+v", st)
		}
		e.call("GET", "/api/alice/tasks/stats?list=x", alice, nil).problem(t, 422)
	})
}
