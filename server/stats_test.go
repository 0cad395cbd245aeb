package server_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"
)

type statsBody struct {
	Total     int64 `json:"total"`
	Pending   int64 `json:"pending"`
	Completed int64 `json:"completed"`
	Overdue   int64 `json:"overdue"`
	DueToday  int64 `json:"due_today"`
}

// countQueries counts the SQL statements the app runs during fn.
func (e *env) countQueries(fn func()) int {
	e.t.Helper()
	n := 0
	count := func(*gorm.DB) { n++ }
	name := "test:count"
	if err := e.db.Callback().Query().After("gorm:query").Register(name, count); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Callback().Row().After("gorm:row").Register(name, count); err != nil {
		e.t.Fatal(err)
	}
	defer func() {
		_ = e.db.Callback().Query().Remove(name)
		_ = e.db.Callback().Row().Remove(name)
	}()
	fn()
	return n
}

func TestStats(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		for _, tk := range []map[string]any{
			{"title": "a", "due_date": "2026-11-27T00:00:00Z"}, // the first instant of the UTC day
			{"title": "b", "due_date": "2026-11-27T23:59:59.999999Z"},
			{"title": "c", "due_date": "2026-11-28T00:00:00Z"},
			{"title": "d", "due_date": "2026-11-27T12:00:00Z", "completed": true},
			{"title": "e", "due_date": "2026-11-20T08:00:00Z"},
			{"title": "f"},
			{"title": "g", "completed": true},
			{"title": "h", "due_date": "2026-11-28T14:00:00Z"},
		} {
			e.create("alice", tk)
		}
		e.create("bob", map[string]any{"title": "bob's", "due_date": "2026-11-27T08:00:00Z"})
		e.create("bob", map[string]any{"title": "bob's done", "completed": true})
		// 22:30 UTC: a and e are overdue; Berlin is at 23:30, Los Angeles
		// at 14:30, Tokyo already at 07:30 on the 28th.
		e.clock.set(time.Date(2026, 11, 27, 22, 30, 0, 0, time.UTC))
		cases := []struct {
			query string
			want  statsBody
		}{
			{"", statsBody{8, 6, 2, 2, 2}},                        // today: a, b
			{"?tz=UTC", statsBody{8, 6, 2, 2, 2}},                 // the same
			{"?tz=Europe/Berlin", statsBody{8, 6, 2, 2, 1}},       // a
			{"?tz=America/Los_Angeles", statsBody{8, 6, 2, 2, 2}}, // b, c
			{"?tz=Asia/Tokyo", statsBody{8, 6, 2, 2, 3}},          // b, c, h
		}
		for _, tc := range cases {
			t.Run("alice"+tc.query, func(t *testing.T) {
				var r response
				if n := e.countQueries(func() { r = e.call("GET", "/api/alice/tasks/stats"+tc.query, e.token("alice"), nil) }); n != 1 {
					t.Errorf("%d queries, want 1", n)
				}
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
				var got statsBody
				r.decode(t, &got)
				if got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			})
		}
		t.Run("a user without tasks", func(t *testing.T) {
			var got statsBody
			e.call("GET", "/api/nobody/tasks/stats", e.token("nobody"), nil).decode(t, &got)
			if got != (statsBody{}) {
				t.Errorf("got %+v", got)
			}
		})
		t.Run("a day of 23 hours", func(t *testing.T) {
			// Berlin moves to summer time on 2026-03-29: the day runs from
			// 23:00Z on the 28th to 22:00Z on the 29th.
			e.create("dora", map[string]any{"title": "first", "due_date": "2026-03-28T23:00:00Z"})
			e.create("dora", map[string]any{"title": "last", "due_date": "2026-03-29T21:59:59Z"})
			e.create("dora", map[string]any{"title": "next day", "due_date": "2026-03-29T22:00:00Z"})
			e.create("dora", map[string]any{"title": "day before", "due_date": "2026-03-28T22:59:59Z"})
			e.clock.set(time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC))
			var got statsBody
			e.call("GET", "/api/dora/tasks/stats?tz=Europe/Berlin", e.token("dora"), nil).decode(t, &got)
			if got != (statsBody{Total: 4, Pending: 4, Overdue: 2, DueToday: 2}) {
				t.Errorf("got %+v", got)
			}
		})
		t.Run("overdue follows the clock", func(t *testing.T) {
			e.clock.set(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) // now c is due, just past
			var got statsBody
			e.call("GET", "/api/alice/tasks/stats", e.token("alice"), nil).decode(t, &got)
			if got.Overdue != 4 || got.DueToday != 2 { // a, b, c, e; c and h today
				t.Errorf("got %+v", got)
			}
		})
		for _, q := range []struct{ query, field string }{
			{"?tz=Mars/Olympus", "tz"},
			{"?tz=", "tz"},
			{"?tz=Local", "tz"},
			{"?tz=../../etc/passwd", "tz"},
			{"?tz=UTC&tz=UTC", "tz"},
			{"?zone=UTC", "zone"},
		} {
			t.Run("rejects "+q.query, func(t *testing.T) {
				p := e.call("GET", "/api/alice/tasks/stats"+q.query, e.token("alice"), nil).problem(t, 422)
				if !reflect.DeepEqual(p.fields(), []string{q.field}) {
					t.Errorf("fields %v", p.fields())
				}
			})
		}
		t.Run("another user's stats", func(t *testing.T) {
			e.call("GET", "/api/alice/tasks/stats", e.token("bob"), nil).problem(t, 403)
		})
		t.Run("stats is not a task id for the other verbs", func(t *testing.T) {
			e.call("DELETE", "/api/alice/tasks/stats", e.token("alice"), nil).problem(t, 404)
			e.call("PATCH", "/api/alice/tasks/stats", e.token("alice"), map[string]any{"title": "x"}).problem(t, 404)
		})
		if got := fmt.Sprint(e.countRows()); got != "14" {
			t.Errorf("%s rows", got)
		}
	})
}
