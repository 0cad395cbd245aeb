package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"todo-api/database"
	"todo-api/internal/logbuf"
	"todo-api/models"
)

// scheduler is the reminder scheduler on e's database and clock; fired
// collects what its hook was told.
type scheduler struct {
	r     *database.Reminders
	fired []database.FiredReminder
}

func (e *env) scheduler() *scheduler { return e.schedulerOn(database.NewStore(e.appDB)) }

// schedulerOn is the scheduler writing through store, as main's writes
// through the server's.
func (e *env) schedulerOn(store *database.Store) *scheduler {
	s := &scheduler{}
	s.r = database.NewReminders(store, e.clock.Now, func(user string, t models.Task, late bool) {
		s.fired = append(s.fired, database.FiredReminder{UserID: user, Task: t, Late: late})
	}, slog.New(slog.NewTextHandler(&logbuf.Buffer{}, nil)))
	return s
}

// fire runs one look at the clock's time and returns the ids it fired.
func (s *scheduler) fire(t *testing.T) map[int64]bool {
	t.Helper()
	before := len(s.fired)
	got, err := s.r.Fire(context.Background())
	if err != nil {
		t.Fatalf("fire: %v", err)
	}
	if len(got) != len(s.fired)-before {
		t.Fatalf("Fire returned %d, the hook heard %d", len(got), len(s.fired)-before)
	}
	ids := map[int64]bool{}
	for _, f := range got {
		if ids[f.Task.ID] {
			t.Fatalf("task %d fired twice in one look", f.Task.ID)
		}
		ids[f.Task.ID] = true
	}
	return ids
}

func (e *env) get(t *testing.T, user string, id int64) task {
	t.Helper()
	r := e.call("GET", fmt.Sprintf("/api/%s/tasks/%d", user, id), e.token(user), nil)
	if r.status != 200 {
		t.Fatalf("get %d: %d %s", id, r.status, r.body)
	}
	return r.task(t)
}

func at(e *env, d time.Duration) string { return e.clock.Now().Add(d).UTC().Format(time.RFC3339Nano) }

// TestRemindersFireOnce: a due reminder fires once, for its owner only,
// as a change (version + 1, reminded_at); one not due, completed,
// cleared or deleted does not; a changed remind_at re-arms it.
func TestRemindersFireOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		s := e.scheduler()
		for _, user := range []string{"alice", "bob"} {
			soon := e.create(user, map[string]any{"title": "soon", "remind_at": at(e, time.Minute)})
			later := e.create(user, map[string]any{"title": "later", "remind_at": at(e, time.Hour)})
			done := e.create(user, map[string]any{"title": "done", "remind_at": at(e, time.Minute), "completed": true})
			cleared := e.create(user, map[string]any{"title": "cleared", "remind_at": at(e, time.Minute)})
			gone := e.create(user, map[string]any{"title": "gone", "remind_at": at(e, time.Minute)})
			if r := e.call("PATCH", fmt.Sprintf("/api/%s/tasks/%d", user, cleared.ID), e.token(user), map[string]any{"remind_at": nil}); r.status != 200 || r.task(t).RemindAt != nil {
				t.Fatalf("clear: %d %s", r.status, r.body)
			}
			if r := e.call("DELETE", fmt.Sprintf("/api/%s/tasks/%d", user, gone.ID), e.token(user), nil); r.status != 204 {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			var st struct {
				RemindersPending int64 `json:"reminders_pending"`
			}
			e.call("GET", "/api/"+user+"/tasks/stats", e.token(user), nil).decode(t, &st)
			if st.RemindersPending != 2 {
				t.Errorf("%s: reminders_pending %d, want 2", user, st.RemindersPending)
			}
			if got := e.call("GET", "/api/"+user+"/tasks?reminder=pending&sort=title&order=asc", e.token(user), nil).ids(t, user); fmt.Sprint(got) != fmt.Sprint([]int64{later.ID, soon.ID}) {
				t.Errorf("%s: reminder=pending lists %v, want %v", user, got, []int64{later.ID, soon.ID})
			}
			_ = done
		}
		if got := s.fire(t); len(got) != 0 {
			t.Fatalf("fired %v before anything was due", got)
		}
		e.clock.advance(time.Minute + time.Second)
		first := s.fire(t)
		if len(first) != 2 {
			t.Fatalf("fired %d, want alice's and bob's soon: %+v", len(first), s.fired)
		}
		for _, f := range s.fired {
			if f.Task.UserID != f.UserID || f.Task.Title != "soon" || f.Late || f.Task.Version != 2 || f.Task.RemindedAt == nil {
				t.Errorf("fired %+v", f)
			}
			got := e.get(t, f.UserID, f.Task.ID)
			if got.RemindedAt == nil || got.Version != 2 {
				t.Errorf("%s's task after firing: %+v", f.UserID, got)
			}
			// The other user cannot see it.
			other := map[string]string{"alice": "bob", "bob": "alice"}[f.UserID]
			if r := e.call("GET", fmt.Sprintf("/api/%s/tasks/%d", other, f.Task.ID), e.token(other), nil); r.status != 404 {
				t.Errorf("%s reads %s's task: %d", other, f.UserID, r.status)
			}
		}
		if got := s.fire(t); len(got) != 0 {
			t.Fatalf("fired again: %v", got)
		}
		// The same remind_at keeps it fired (a PUT-back is a no-op); a
		// new one re-arms it.
		f := s.fired[0]
		path := fmt.Sprintf("/api/%s/tasks/%d", f.UserID, f.Task.ID)
		same := e.call("PATCH", path, e.token(f.UserID), map[string]any{"remind_at": f.Task.RemindAt.Format(time.RFC3339Nano)})
		if tk := same.task(t); same.status != 200 || tk.Version != 2 || tk.RemindedAt == nil {
			t.Fatalf("same remind_at: %d %s", same.status, same.body)
		}
		// With another change, the same remind_at still keeps it fired.
		edit := e.call("PUT", path, e.token(f.UserID), map[string]any{"title": "soon!", "remind_at": f.Task.RemindAt.Format(time.RFC3339Nano)})
		if tk := edit.task(t); edit.status != 200 || tk.Version != 3 || tk.RemindedAt == nil {
			t.Fatalf("PUT with the same remind_at: %d %s", edit.status, edit.body)
		}
		rearm := e.call("PATCH", path, e.token(f.UserID), map[string]any{"remind_at": at(e, 10*time.Second)})
		if tk := rearm.task(t); rearm.status != 200 || tk.RemindedAt != nil || tk.Version != 4 {
			t.Fatalf("re-arm: %d %s", rearm.status, rearm.body)
		}
		e.clock.advance(11 * time.Second)
		if got := s.fire(t); len(got) != 1 || !got[f.Task.ID] {
			t.Fatalf("re-armed fired %v, want %d", got, f.Task.ID)
		}
		// Past LateAfter, a reminder fires late.
		e.clock.advance(time.Hour)
		s.fired = nil
		if got := s.fire(t); len(got) != 2 {
			t.Fatalf("later: fired %v", got)
		}
		for _, f := range s.fired {
			if !f.Late || f.Task.Title != "later" {
				t.Errorf("an hour late: %+v", f)
			}
		}
		// Reopening the completed task re-arms its reminder, which is
		// late by now.
		if got := s.fire(t); len(got) != 0 {
			t.Fatalf("fired %v with nothing armed", got)
		}
	})
}

// TestReminderRules: what a write does to a reminder.
func TestReminderRules(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		for _, user := range []string{"alice", "bob"} {
			due := e.clock.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
			remind := due.Add(-24 * time.Hour)
			tk := e.create(user, map[string]any{"title": "water", "due_date": due.Format(time.RFC3339), "recurrence": "weekly", "remind_at": remind.Format(time.RFC3339)})
			if tk.RemindAt == nil || !tk.RemindAt.Equal(remind) || tk.RemindedAt != nil {
				t.Fatalf("%s: created %+v", user, tk)
			}
			path := fmt.Sprintf("/api/%s/tasks/%d", user, tk.ID)
			done := e.call("PATCH", path, e.token(user), map[string]any{"completed": true}).task(t)
			if done.NextTaskID == nil {
				t.Fatalf("%s: no next occurrence: %+v", user, done)
			}
			next := e.get(t, user, *done.NextTaskID)
			if next.RemindAt == nil || !next.RemindAt.Equal(remind.AddDate(0, 0, 7)) || next.RemindedAt != nil {
				t.Errorf("%s: next occurrence's remind_at %v, want %v", user, next.RemindAt, remind.AddDate(0, 0, 7))
			}
			// A PUT without remind_at clears it.
			put := e.call("PUT", path, e.token(user), map[string]any{"title": "water"}).task(t)
			if put.RemindAt != nil || put.RemindedAt != nil {
				t.Errorf("%s: PUT without remind_at: %+v", user, put)
			}
			for _, bad := range []any{"tomorrow", "10000-01-01T00:00:00Z"} {
				r := e.call("PATCH", path, e.token(user), map[string]any{"remind_at": bad})
				p := r.problem(t, 422)
				if len(p.Errors) != 1 || p.Errors[0].Field != "remind_at" {
					t.Errorf("%s: remind_at %v: %s", user, bad, r.body)
				}
			}
			if r := e.call("GET", "/api/"+user+"/tasks?reminder=fired", e.token(user), nil); r.problem(t, 422).Errors[0].Field != "reminder" {
				t.Errorf("reminder=fired: %s", r.body)
			}
		}
	})
}
