package server_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCreate(t *testing.T) {
	due := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		body any
		want func(task) string // "" when the task is right
	}{
		{"defaults", map[string]any{"title": "Buy milk"}, func(got task) string {
			if got.Title != "Buy milk" || got.Description != nil || got.Completed || got.CompletedAt != nil ||
				got.Priority != "medium" || len(got.Tags) != 0 || got.Tags == nil || got.DueDate != nil ||
				got.Recurrence != nil || got.Version != 1 || !got.CreatedAt.Equal(got.UpdatedAt) {
				return "defaults not applied"
			}
			return ""
		}},
		{"every field", map[string]any{
			"title": "  Pay rent  ", "description": "2 litres, oat", "completed": true, "priority": "high",
			"tags": []string{" Home", "errands", "home"}, "due_date": "2026-12-01T18:00:00+01:00", "recurrence": "weekly",
		}, func(got task) string {
			switch {
			case got.Title != "Pay rent":
				return "title not trimmed"
			case got.Description == nil || *got.Description != "2 litres, oat":
				return "description"
			case !got.Completed || got.CompletedAt == nil:
				return "completed_at not set with completed"
			case got.Priority != "high":
				return "priority"
			case !reflect.DeepEqual(got.Tags, []string{"home", "errands"}):
				return fmt.Sprintf("tags not normalised: %q", got.Tags)
			case got.DueDate == nil || !got.DueDate.Equal(due) || got.DueDate.Location() != time.UTC:
				return "due_date not kept as the instant in UTC"
			case got.Recurrence == nil || *got.Recurrence != "weekly":
				return "recurrence"
			}
			return ""
		}},
		{"read-only fields ignored", map[string]any{
			"title": "mine", "id": 999999, "user_id": "mallory", "version": 42, "created_at": "2000-01-01T00:00:00Z",
			"updated_at": "2000-01-01T00:00:00Z", "completed_at": "2000-01-01T00:00:00Z", "next_task_id": 7,
		}, func(got task) string {
			if got.ID == 999999 || got.UserID != "alice" || got.Version != 1 || got.CreatedAt.Year() != 2026 || got.CompletedAt != nil || got.NextTaskID != nil {
				return "a read-only field was taken from the body"
			}
			return ""
		}},
		{"200 characters of multi-byte text", map[string]any{"title": strings.Repeat("é", 200)}, func(got task) string {
			if len([]rune(got.Title)) != 200 {
				return "title length changed"
			}
			return ""
		}},
		{"emoji and right-to-left text round-trip", map[string]any{"title": "שלום 👋🏽 e\u0301", "description": "line 1\nline 2\ttab"}, func(got task) string {
			if got.Title != "שלום 👋🏽 e\u0301" || *got.Description != "line 1\nline 2\ttab" {
				return "text changed"
			}
			return ""
		}},
	}
	eachDB(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call("POST", "/api/alice/tasks", e.token("alice"), tc.body)
				if r.status != http.StatusCreated {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				got := r.task(t)
				if msg := tc.want(got); msg != "" {
					t.Fatalf("%s: %s", msg, r.body)
				}
				if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/alice/tasks/%d", got.ID) {
					t.Errorf("Location %q", loc)
				}
				if et := r.header.Get("ETag"); et != fmt.Sprintf(`"%d-1"`, got.ID) {
					t.Errorf("ETag %q", et)
				}
				// What the create answered is what is stored.
				g := e.call("GET", r.header.Get("Location"), e.token("alice"), nil)
				if g.status != http.StatusOK || !reflect.DeepEqual(g.task(t), got) {
					t.Errorf("read back %d %s, created %s", g.status, g.body, r.body)
				}
			})
		}
	})
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name   string
		body   any
		status int
		fields []string // for 422
	}{
		{"missing title", map[string]any{"priority": "low"}, 422, []string{"title"}},
		{"empty title", map[string]any{"title": ""}, 422, []string{"title"}},
		{"blank title", map[string]any{"title": "   "}, 422, []string{"title"}},
		{"null title", map[string]any{"title": nil}, 422, []string{"title"}},
		{"201-character title", map[string]any{"title": strings.Repeat("x", 201)}, 422, []string{"title"}},
		{"NUL in title", map[string]any{"title": "a\u0000b"}, 422, []string{"title"}},
		{"newline in title", map[string]any{"title": "a\nb"}, 422, []string{"title"}},
		{"NUL in description", map[string]any{"title": "ok", "description": "a\u0000b"}, 422, []string{"description"}},
		{"1001-character description", map[string]any{"title": "ok", "description": strings.Repeat("d", 1001)}, 422, []string{"description"}},
		{"bad priority", map[string]any{"title": "ok", "priority": "urgent"}, 422, []string{"priority"}},
		{"null priority", map[string]any{"title": "ok", "priority": nil}, 422, []string{"priority"}},
		{"11 tags", map[string]any{"title": "ok", "tags": strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")}, 422, []string{"tags"}},
		{"empty tag", map[string]any{"title": "ok", "tags": []string{"a", "  "}}, 422, []string{"tags[1]"}},
		{"51-character tag", map[string]any{"title": "ok", "tags": []string{strings.Repeat("t", 51)}}, 422, []string{"tags[0]"}},
		{"date without time", map[string]any{"title": "ok", "due_date": "2026-12-01"}, 422, []string{"due_date"}},
		{"bad recurrence", map[string]any{"title": "ok", "recurrence": "yearly"}, 422, []string{"recurrence"}},
		{"unknown field", map[string]any{"title": "ok", "colour": "red"}, 422, []string{"colour"}},
		{"several at once", map[string]any{"title": "", "priority": "x"}, 422, []string{"title", "priority"}},
		{"an unknown field among broken rules", `{"title":"","priority":"urgent","recurrence":"daily","foo":1}`, 422, []string{"foo", "due_date", "title", "priority"}},
		{"many unknown fields", `{"title":"ok","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12}`, 422,
			[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "(more)"}},
		{"completed as a string", `{"title":"ok","completed":"true"}`, 400, nil},
		{"completed as a number", `{"title":"ok","completed":1}`, 400, nil},
		{"tags as a string", `{"title":"ok","tags":"home"}`, 400, nil},
		{"title as a number", `{"title":5}`, 400, nil},
		{"array body", `[{"title":"ok"}]`, 400, nil},
		{"malformed JSON", `{"title":`, 400, nil},
		{"two objects", `{"title":"a"}{"title":"b"}`, 400, nil},
		{"empty body", ``, 400, nil},
		{"invalid UTF-8", "{\"title\":\"a\xff\"}", 400, nil},
	}
	eachDB(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var body any = tc.body
				if s, ok := tc.body.(string); ok && s == "" {
					body = " "
				}
				r := e.call("POST", "/api/alice/tasks", e.token("alice"), body)
				p := r.problem(t, tc.status)
				if tc.status == 422 && !reflect.DeepEqual(p.fields(), tc.fields) {
					t.Errorf("fields %q, want %q (%s)", p.fields(), tc.fields, r.body)
				}
			})
		}
		// Nothing invalid was stored.
		var n int64
		e.db.Table("tasks").Count(&n)
		if n != 0 {
			t.Errorf("%d tasks stored by invalid requests", n)
		}
	})
}

func TestList(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var ids []int64 // oldest first
		for i := 0; i < 5; i++ {
			ids = append(ids, e.create("alice", map[string]any{"title": fmt.Sprintf("task %d", i), "completed": i%2 == 1}).ID)
		}
		e.create("bob", map[string]any{"title": "bob's"})
		rev := func(idx ...int) []int64 {
			out := make([]int64, len(idx))
			for i, j := range idx {
				out[i] = ids[j]
			}
			return out
		}
		cases := []struct {
			query string
			want  []int64
			total string
		}{
			{"", rev(4, 3, 2, 1, 0), "5"},
			{"?limit=2", rev(4, 3), "5"},
			{"?limit=2&offset=2", rev(2, 1), "5"},
			{"?offset=4", rev(0), "5"},
			{"?offset=10", rev(), "5"},
			{"?status=all", rev(4, 3, 2, 1, 0), "5"},
			{"?status=pending", rev(4, 2, 0), "3"},
			{"?status=completed", rev(3, 1), "2"},
			{"?status=completed&limit=1&offset=1", rev(1), "2"},
			{"?limit=500", rev(4, 3, 2, 1, 0), "5"},
		}
		for _, tc := range cases {
			t.Run("query "+tc.query, func(t *testing.T) {
				r := e.call("GET", "/api/alice/tasks"+tc.query, e.token("alice"), nil)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				var got []task
				r.decode(t, &got)
				gotIDs := make([]int64, 0, len(got))
				for _, g := range got {
					gotIDs = append(gotIDs, g.ID)
					if g.UserID != "alice" {
						t.Errorf("list holds %s's task", g.UserID)
					}
				}
				if !reflect.DeepEqual(gotIDs, tc.want) {
					t.Errorf("ids %v, want %v", gotIDs, tc.want)
				}
				if r.header.Get("X-Total-Count") != tc.total {
					t.Errorf("X-Total-Count %q, want %s", r.header.Get("X-Total-Count"), tc.total)
				}
				if string(r.body[:1]) != "[" {
					t.Errorf("not an array: %s", r.body)
				}
			})
		}
		bad := []struct{ query, field string }{
			{"?status=done", "status"},
			{"?limit=0", "limit"},
			{"?limit=-1", "limit"},
			{"?limit=501", "limit"},
			{"?limit=ten", "limit"},
			{"?offset=-1", "offset"},
			{"?stauts=completed", "stauts"},
			{"?status=pending&status=completed", "status"},
			{"?status='%20OR%201=1--", "status"},
		}
		for _, tc := range bad {
			t.Run("rejects "+tc.query, func(t *testing.T) {
				p := e.call("GET", "/api/alice/tasks"+tc.query, e.token("alice"), nil).problem(t, 422)
				if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || !strings.Contains(p.Detail, tc.field) {
					t.Errorf("want one error naming %s: %+v", tc.field, p)
				}
			})
		}
		t.Run("default limit is 100", func(t *testing.T) {
			for i := 0; i < 101; i++ {
				e.create("carol", map[string]any{"title": fmt.Sprintf("bulk %d", i)})
			}
			var got []task
			r := e.call("GET", "/api/carol/tasks", e.token("carol"), nil)
			r.decode(t, &got)
			if len(got) != 100 || got[0].Title != "bulk 100" || r.header.Get("X-Total-Count") != "101" {
				t.Errorf("got %d tasks, first %q, total %s", len(got), got[0].Title, r.header.Get("X-Total-Count"))
			}
		})
	})
}

func TestUpdate(t *testing.T) {
	start := map[string]any{
		"title": "start", "description": "words", "completed": true, "priority": "high",
		"tags": []string{"a"}, "due_date": "2026-12-01T17:00:00Z", "recurrence": "daily",
	}
	type expect struct {
		title, priority string
		description     *string
		completed       bool
		tags            []string
		due             bool
		recurrence      *string
	}
	cases := []struct {
		method string
		body   any
		want   expect
	}{
		{"PATCH", map[string]any{"completed": false}, expect{"start", "high", ptr("words"), false, []string{"a"}, true, ptr("daily")}},
		{"PATCH", map[string]any{"description": nil}, expect{"start", "high", nil, true, []string{"a"}, true, ptr("daily")}},
		{"PATCH", map[string]any{"description": ""}, expect{"start", "high", ptr(""), true, []string{"a"}, true, ptr("daily")}},
		{"PATCH", map[string]any{"title": " new ", "priority": "low"}, expect{"new", "low", ptr("words"), true, []string{"a"}, true, ptr("daily")}},
		{"PATCH", map[string]any{"due_date": nil, "recurrence": nil, "tags": nil}, expect{"start", "high", ptr("words"), true, []string{}, false, nil}},
		{"PATCH", map[string]any{"tags": []string{"X", "y"}}, expect{"start", "high", ptr("words"), true, []string{"x", "y"}, true, ptr("daily")}},
		{"PUT", map[string]any{"title": "replaced"}, expect{"replaced", "medium", nil, false, []string{}, false, nil}},
		{"PUT", map[string]any{"title": "replaced", "completed": true, "priority": "low", "description": "d"}, expect{"replaced", "low", ptr("d"), true, []string{}, false, nil}},
	}
	eachDB(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s %v", tc.method, tc.body), func(t *testing.T) {
				before := e.create("alice", start)
				r := e.call(tc.method, fmt.Sprintf("/api/alice/tasks/%d", before.ID), e.token("alice"), tc.body)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				got := r.task(t)
				w := tc.want
				if got.Title != w.title || got.Priority != w.priority || !reflect.DeepEqual(got.Description, w.description) ||
					got.Completed != w.completed || !reflect.DeepEqual(got.Tags, w.tags) || (got.DueDate != nil) != w.due ||
					!reflect.DeepEqual(got.Recurrence, w.recurrence) {
					t.Errorf("got %s", r.body)
				}
				if got.Version != 2 || !got.UpdatedAt.After(before.UpdatedAt) || !got.CreatedAt.Equal(before.CreatedAt) {
					t.Errorf("version/timestamps not moved on: %s", r.body)
				}
				if got.Completed != (got.CompletedAt != nil) {
					t.Errorf("completed_at does not follow completed: %s", r.body)
				}
				if got.Completed && !got.CompletedAt.Equal(*before.CompletedAt) {
					t.Errorf("completed_at moved although the task stayed completed")
				}
				if r.header.Get("ETag") != fmt.Sprintf(`"%d-2"`, got.ID) {
					t.Errorf("ETag %q", r.header.Get("ETag"))
				}
				g := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", before.ID), e.token("alice"), nil)
				if !reflect.DeepEqual(g.task(t), got) {
					t.Errorf("stored %s, answered %s", g.body, r.body)
				}
			})
		}
		t.Run("empty PATCH changes nothing", func(t *testing.T) {
			before := e.create("alice", start)
			r := e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", before.ID), e.token("alice"), map[string]any{})
			if r.status != http.StatusOK || !reflect.DeepEqual(r.task(t), before) {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
		t.Run("PUT needs a title", func(t *testing.T) {
			before := e.create("alice", start)
			p := e.call("PUT", fmt.Sprintf("/api/alice/tasks/%d", before.ID), e.token("alice"), map[string]any{"priority": "low"}).problem(t, 422)
			if !reflect.DeepEqual(p.fields(), []string{"title"}) {
				t.Errorf("fields %v", p.fields())
			}
		})
		t.Run("invalid PATCH changes nothing", func(t *testing.T) {
			before := e.create("alice", start)
			path := fmt.Sprintf("/api/alice/tasks/%d", before.ID)
			e.call("PATCH", path, e.token("alice"), map[string]any{"title": "fine", "priority": "urgent"}).problem(t, 422)
			e.call("PATCH", path, e.token("alice"), map[string]any{"completed": nil}).problem(t, 422)
			if got := e.call("GET", path, e.token("alice"), nil).task(t); !reflect.DeepEqual(got, before) {
				t.Errorf("changed to %+v", got)
			}
		})
	})
}

func TestToggle(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		tk := e.create("alice", map[string]any{"title": "flip me"})
		path := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
		// Setting the state a task is in already changes nothing, not
		// even its version.
		steps := []struct {
			route   string
			body    any
			want    bool
			version int64
		}{
			{"/toggle", nil, true, 2},
			{"/toggle", nil, false, 3},
			{"/complete", nil, true, 4},
			{"/toggle", map[string]any{"completed": true}, true, 4}, // a retried "complete" stays complete
			{"/toggle", map[string]any{"completed": true}, true, 4},
			{"/complete", map[string]any{"completed": false}, false, 5},
			{"/toggle", map[string]any{"completed": false}, false, 5},
		}
		var firstCompletedAt *time.Time
		for i, s := range steps {
			r := e.call("PATCH", path+s.route, e.token("alice"), s.body)
			if r.status != http.StatusOK {
				t.Fatalf("step %d: %d %s", i, r.status, r.body)
			}
			got := r.task(t)
			if got.Completed != s.want || (got.CompletedAt != nil) != s.want || got.Version != s.version {
				t.Fatalf("step %d (%s %v): %s", i, s.route, s.body, r.body)
			}
			if i == 3 {
				firstCompletedAt = got.CompletedAt
			}
			if i == 4 && !got.CompletedAt.Equal(*firstCompletedAt) {
				t.Errorf("completing a completed task moved completed_at")
			}
		}
		e.call("PATCH", path+"/toggle", e.token("alice"), map[string]any{"completed": nil}).problem(t, 422)
		e.call("PATCH", path+"/toggle", e.token("alice"), map[string]any{"done": true}).problem(t, 422)
		e.call("PATCH", path+"/toggle", e.token("alice"), `{"completed":"yes"}`).problem(t, 400)
	})
}

func TestDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		tk := e.create("alice", map[string]any{"title": "bye"})
		keep := e.create("alice", map[string]any{"title": "stay"})
		path := fmt.Sprintf("/api/alice/tasks/%d", tk.ID)
		r := e.call("DELETE", path, e.token("alice"), nil)
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("delete: %d %q", r.status, r.body)
		}
		e.call("GET", path, e.token("alice"), nil).problem(t, 404)
		e.call("DELETE", path, e.token("alice"), nil).problem(t, 404)
		if r := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", keep.ID), e.token("alice"), nil); r.status != 200 {
			t.Errorf("the other task went too: %d", r.status)
		}
	})
}

func TestTaskIDs(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.create("alice", map[string]any{"title": "one"})
		for _, id := range []string{"abc", "-1", "0", "1.5", "9223372036854775808", "99999999999999999999", "999999999", "1e3", "%201"} {
			for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
				t.Run(method+" "+id, func(t *testing.T) {
					var body any
					if method == "PUT" || method == "PATCH" {
						body = map[string]any{"title": "x"}
					}
					p := e.call(method, "/api/alice/tasks/"+id, e.token("alice"), body).problem(t, 404)
					if p.Detail != "No task with this id." {
						t.Errorf("detail %q", p.Detail)
					}
				})
			}
		}
	})
}
