package server_test

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

// completions are the ways a client completes a task.
var completions = []struct {
	name, method, route string
	body                any
}{
	{"toggle", "PATCH", "/toggle", nil},
	{"complete", "PATCH", "/complete", nil},
	{"toggle with completed true", "PATCH", "/toggle", map[string]any{"completed": true}},
	{"PATCH", "PATCH", "", map[string]any{"completed": true}},
	// PUT replaces the task, so it repeats every field the series keeps.
	{"PUT", "PUT", "", map[string]any{"title": "Water plants", "description": "balcony", "priority": "high",
		"tags": []string{"home"}, "due_date": "2026-01-31T08:30:00.123456Z", "recurrence": "monthly", "completed": true}},
}

func TestRecurrence(t *testing.T) {
	periods := []struct {
		recurrence, due, next string
	}{
		{"daily", "2026-01-31T08:30:00.123456Z", "2026-02-01T08:30:00.123456Z"},
		{"daily", "2026-12-31T23:59:59Z", "2027-01-01T23:59:59Z"},
		{"daily", "2028-02-28T12:00:00Z", "2028-02-29T12:00:00Z"},
		{"weekly", "2026-12-28T17:00:00Z", "2027-01-04T17:00:00Z"},
		{"weekly", "2026-02-26T06:00:00+01:00", "2026-03-05T05:00:00Z"},
		{"monthly", "2026-11-15T09:00:00Z", "2026-12-15T09:00:00Z"},
		// Month ends clamp to the last day of the next month.
		{"monthly", "2026-01-31T08:30:00.123456Z", "2026-02-28T08:30:00.123456Z"},
		{"monthly", "2028-01-31T08:30:00Z", "2028-02-29T08:30:00Z"},
		{"monthly", "2026-03-31T10:00:00Z", "2026-04-30T10:00:00Z"},
		{"monthly", "2026-08-31T10:00:00Z", "2026-09-30T10:00:00Z"},
		{"monthly", "2026-12-31T10:00:00Z", "2027-01-31T10:00:00Z"},
		{"monthly", "2026-02-28T10:00:00Z", "2026-03-28T10:00:00Z"},
	}
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		for _, p := range periods {
			for _, how := range completions {
				if how.name == "PUT" && (p.recurrence != "monthly" || p.due != "2026-01-31T08:30:00.123456Z") {
					continue // the PUT body carries one series of its own
				}
				t.Run(fmt.Sprintf("%s from %s by %s", p.recurrence, p.due, how.name), func(t *testing.T) {
					first := e.create("alice", map[string]any{"title": "Water plants", "description": "balcony", "priority": "high",
						"tags": []string{"home"}, "due_date": p.due, "recurrence": p.recurrence})
					rows := e.countRows()
					r := e.call(how.method, fmt.Sprintf("/api/alice/tasks/%d%s", first.ID, how.route), alice, how.body)
					done := r.task(t)
					if r.status != http.StatusOK || !done.Completed || done.CompletedAt == nil || done.NextTaskID == nil {
						t.Fatalf("%d %s", r.status, r.body)
					}
					if n := e.countRows(); n != rows+1 {
						t.Errorf("%d rows, want %d", n, rows+1)
					}
					if done.Version != 2 || r.header.Get("ETag") != fmt.Sprintf(`"%d-2"`, first.ID) {
						t.Errorf("the completion is one change: version %d, ETag %s", done.Version, r.header.Get("ETag"))
					}
					g := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", *done.NextTaskID), alice, nil)
					next := g.task(t)
					wantDue, _ := time.Parse(time.RFC3339Nano, p.next)
					if g.status != http.StatusOK || next.Title != "Water plants" || next.Description == nil || *next.Description != "balcony" ||
						next.Priority != "high" || !reflect.DeepEqual(next.Tags, []string{"home"}) ||
						next.Recurrence == nil || *next.Recurrence != p.recurrence || next.Completed || next.CompletedAt != nil ||
						next.NextTaskID != nil || next.Version != 1 || next.DueDate == nil || next.UserID != "alice" {
						t.Fatalf("next occurrence %s", g.body)
					}
					if !next.DueDate.Equal(wantDue) {
						t.Errorf("next due %s, want %s", next.DueDate.Format(time.RFC3339Nano), p.next)
					}
					// What the completion answered is what is stored.
					if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", first.ID), alice, nil).task(t); !reflect.DeepEqual(got, done) {
						t.Errorf("stored %+v, answered %+v", got, done)
					}
				})
			}
		}
	})
}

func TestRecurrenceCreatesOneCopy(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		series := map[string]any{"title": "Standup", "due_date": "2026-12-01T09:00:00Z", "recurrence": "daily"}

		t.Run("reopen and complete again", func(t *testing.T) {
			tk := e.create("alice", series)
			path := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
			rows := e.countRows()
			var next *int64
			for i, step := range []struct {
				method, route string
				body          any
				completed     bool
			}{
				{"PATCH", "/toggle", nil, true},
				{"PATCH", "/toggle", nil, false},
				{"PATCH", "/toggle", nil, true},
				{"PATCH", "", map[string]any{"completed": false}, false},
				{"PUT", "", map[string]any{"title": "Standup", "due_date": "2026-12-01T09:00:00Z", "recurrence": "daily", "completed": true}, true},
				{"PATCH", "/complete", map[string]any{"completed": true}, true},
			} {
				got := e.call(step.method, path+step.route, alice, step.body).task(t)
				if got.Completed != step.completed || got.NextTaskID == nil || (next != nil && *got.NextTaskID != *next) {
					t.Fatalf("step %d: %+v", i, got)
				}
				next = got.NextTaskID
			}
			if n := e.countRows(); n != rows+1 {
				t.Errorf("%d rows, want %d: one occurrence only", n, rows+1)
			}
		})

		t.Run("concurrent completions", func(t *testing.T) {
			e.listen()
			tk := e.create("alice", series)
			rows := e.countRows()
			var wg sync.WaitGroup
			nexts := make([]int64, 8)
			for i := range nexts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/complete", tk.ID), alice, map[string]any{"completed": true})
					if r.status != http.StatusOK {
						t.Errorf("%d %s", r.status, r.body)
						return
					}
					if got := r.task(t); got.NextTaskID != nil {
						nexts[i] = *got.NextTaskID
					}
				}()
			}
			wg.Wait()
			for _, n := range nexts {
				if n == 0 || n != nexts[0] {
					t.Fatalf("next ids %v", nexts)
				}
			}
			if n := e.countRows(); n != rows+1 {
				t.Errorf("%d rows, want %d", n, rows+1)
			}
		})

		t.Run("completing the next occurrence continues the series", func(t *testing.T) {
			tk := e.create("alice", series)
			var dues []string
			for i := 0; i < 3; i++ {
				done := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", tk.ID), alice, nil).task(t)
				tk = e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", *done.NextTaskID), alice, nil).task(t)
				dues = append(dues, tk.DueDate.Format(time.RFC3339))
			}
			if want := []string{"2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z", "2026-12-04T09:00:00Z"}; !reflect.DeepEqual(dues, want) {
				t.Errorf("dues %v, want %v", dues, want)
			}
		})
	})
}
