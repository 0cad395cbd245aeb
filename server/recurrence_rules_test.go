package server_test

import (
	"fmt"
	"reflect"
	"testing"
)

func TestRecurrenceWithoutNextOccurrence(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		cases := []struct {
			name   string
			create map[string]any
			method string
			route  string
			body   any
		}{
			{"not recurring", map[string]any{"title": "once", "due_date": "2026-12-01T09:00:00Z"}, "PATCH", "/toggle", nil},
			{"recurrence cleared while completing", map[string]any{"title": "stop", "due_date": "2026-12-01T09:00:00Z", "recurrence": "weekly"},
				"PATCH", "", map[string]any{"completed": true, "recurrence": nil}},
			{"edited while completed", map[string]any{"title": "logged", "due_date": "2026-12-01T09:00:00Z", "recurrence": "weekly", "completed": true},
				"PATCH", "", map[string]any{"title": "logged, renamed"}},
			{"reopened", map[string]any{"title": "back", "due_date": "2026-12-01T09:00:00Z", "recurrence": "weekly", "completed": true},
				"PATCH", "/toggle", nil},
			{"someone else's", map[string]any{"title": "bob's", "due_date": "2026-12-01T09:00:00Z", "recurrence": "daily"}, "PATCH", "/toggle", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				owner, path := "alice", "/api/alice/tasks/%d"
				if tc.name == "someone else's" {
					owner = "bob"
				}
				tk := e.create(owner, tc.create)
				rows := e.countRows()
				r := e.call(tc.method, fmt.Sprintf(path, tk.ID)+tc.route, alice, tc.body)
				if owner == "bob" {
					r.problem(t, 404)
				} else if got := r.task(t); r.status != 200 || got.NextTaskID != nil {
					t.Errorf("%d %s", r.status, r.body)
				}
				if n := e.countRows(); n != rows {
					t.Errorf("%d rows, want %d", n, rows)
				}
			})
		}
	})
}

func TestRecurrenceNeedsDueDate(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		plain := e.create("alice", map[string]any{"title": "plain"})
		series := e.create("alice", map[string]any{"title": "series", "due_date": "2026-12-01T09:00:00Z", "recurrence": "daily"})
		// A row from before the rule, as the core service could store it.
		legacy := e.create("alice", map[string]any{"title": "legacy"})
		if err := e.fixture().Exec("UPDATE tasks SET recurrence = 'weekly' WHERE id = ?", legacy.ID).Error; err != nil {
			t.Fatal(err)
		}
		legacy = e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", legacy.ID), alice, nil).task(t)
		cases := []struct {
			name   string
			method string
			path   string
			body   any
		}{
			{"POST", "POST", "/api/alice/tasks", map[string]any{"title": "x", "recurrence": "daily"}},
			{"POST with null due date", "POST", "/api/alice/tasks", map[string]any{"title": "x", "recurrence": "daily", "due_date": nil}},
			{"PUT", "PUT", fmt.Sprintf("/api/alice/tasks/%d", series.ID), map[string]any{"title": "series", "recurrence": "daily"}},
			{"PATCH recurrence on", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", plain.ID), map[string]any{"recurrence": "monthly"}},
			{"PATCH due date off", "PATCH", fmt.Sprintf("/api/alice/tasks/%d", series.ID), map[string]any{"due_date": nil}},
			{"completing a legacy row", "PATCH", fmt.Sprintf("/api/alice/tasks/%d/toggle", legacy.ID), nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rows := e.countRows()
				p := e.call(tc.method, tc.path, alice, tc.body).problem(t, 422)
				if !reflect.DeepEqual(p.fields(), []string{"due_date"}) {
					t.Errorf("fields %v", p.fields())
				}
				if n := e.countRows(); n != rows {
					t.Errorf("%d rows, want %d", n, rows)
				}
			})
		}
		for _, before := range []task{plain, series, legacy} {
			if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", before.ID), alice, nil).task(t); !reflect.DeepEqual(got, before) {
				t.Errorf("a refused write changed %+v into %+v", before, got)
			}
		}
		t.Run("PATCH that sets both is fine", func(t *testing.T) {
			r := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", plain.ID), alice, map[string]any{"recurrence": "monthly", "due_date": "2026-12-01T09:00:00Z"})
			if r.status != 200 {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
	})
}
