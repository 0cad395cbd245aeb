package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"todo-api/config"
)

// list is a list as the API returns it.
type list struct {
	ID           int64     `json:"id"`
	UserID       string    `json:"user_id"`
	Name         string    `json:"name"`
	Color        *string   `json:"color"`
	Position     string    `json:"position"`
	TaskCount    int64     `json:"task_count"`
	PendingCount int64     `json:"pending_count"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func (r response) list(t *testing.T) list {
	t.Helper()
	var out list
	r.decode(t, &out)
	return out
}

// newList makes a list for user, failing the test otherwise.
func (e *env) newList(user string, body any) list {
	e.t.Helper()
	r := e.call("POST", "/api/"+user+"/lists", e.token(user), body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create list: %d %s", r.status, r.body)
	}
	return r.list(e.t)
}

// listNames are the names of user's lists in the order GET /lists gives.
func (e *env) listNames(t *testing.T, user string) []string {
	t.Helper()
	r := e.call("GET", "/api/"+user+"/lists", e.token(user), nil)
	if r.status != 200 {
		t.Fatalf("lists: %d %s", r.status, r.body)
	}
	var got []list
	r.decode(t, &got)
	names := make([]string, len(got))
	for i, l := range got {
		if l.UserID != user {
			t.Errorf("%s's lists hold one of %s", user, l.UserID)
		}
		names[i] = l.Name
	}
	return names
}

func (e *env) countLists() int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Table("lists").Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestListsCRUD is the list resource's life: create (first in order, with
// Location and ETag), read one and all with their counts, rename, recolor,
// a no-op PATCH that keeps the version, If-Match, and delete.
func TestListsCRUD(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		groceries := e.call("POST", "/api/alice/lists", alice, map[string]any{"name": "  Groceries ", "color": "#2F9E44", "task_count": 99})
		if groceries.status != 201 || groceries.header.Get("Location") != fmt.Sprintf("/api/alice/lists/%d", groceries.list(t).ID) {
			t.Fatalf("create: %d %v %s", groceries.status, groceries.header, groceries.body)
		}
		g := groceries.list(t)
		if g.Name != "Groceries" || g.Color == nil || *g.Color != "#2f9e44" || g.Version != 1 || g.TaskCount != 0 || g.UserID != "alice" {
			t.Errorf("created %+v", g)
		}
		work := e.newList("alice", map[string]any{"name": "Work"})
		e.newList("bob", map[string]any{"name": "Groceries"}) // bob's own: no conflict
		if got := e.listNames(t, "alice"); !slices.Equal(got, []string{"Work", "Groceries"}) {
			t.Errorf("alice's lists %v: a new list goes first", got)
		}
		if got := e.listNames(t, "bob"); !slices.Equal(got, []string{"Groceries"}) {
			t.Errorf("bob's lists %v", got)
		}

		r := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", g.ID), alice, nil)
		if r.status != 200 || r.list(t).Name != "Groceries" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		tag := r.header.Get("ETag")
		if r := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", g.ID), alice, nil, "If-None-Match", tag); r.status != 304 {
			t.Errorf("If-None-Match: %d", r.status)
		}

		same := e.call("PATCH", fmt.Sprintf("/api/alice/lists/%d", g.ID), alice, map[string]any{"name": "Groceries", "color": "#2f9e44"})
		if same.status != 200 || same.list(t).Version != 1 || !same.list(t).UpdatedAt.Equal(g.UpdatedAt) {
			t.Errorf("no-op PATCH: %d %s", same.status, same.body)
		}
		renamed := e.call("PATCH", fmt.Sprintf("/api/alice/lists/%d", g.ID), alice, map[string]any{"name": "groceries", "color": nil}, "If-Match", tag)
		if renamed.status != 200 || renamed.list(t).Name != "groceries" || renamed.list(t).Color != nil || renamed.list(t).Version != 2 {
			t.Errorf("rename to another case of its own name: %d %s", renamed.status, renamed.body)
		}
		stale := e.call("PATCH", fmt.Sprintf("/api/alice/lists/%d", g.ID), alice, map[string]any{"name": "x"}, "If-Match", tag)
		stale.problem(t, 412)
		if r := e.call("DELETE", fmt.Sprintf("/api/alice/lists/%d", work.ID), alice, nil, "If-Match", tag); r.status != 412 {
			t.Errorf("delete with another list's ETag: %d", r.status)
		}
		if r := e.call("DELETE", fmt.Sprintf("/api/alice/lists/%d", work.ID), alice, nil); r.status != 204 {
			t.Errorf("delete: %d %s", r.status, r.body)
		}
		if r := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", work.ID), alice, nil); r.status != 404 {
			t.Errorf("deleted list: %d", r.status)
		}
	})
}

// TestListRules is every refused list body: each answer names the field,
// and nothing is written.
func TestListRules(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		existing := e.newList("alice", map[string]any{"name": "Straße"})
		other := e.newList("alice", map[string]any{"name": "Other"})
		e.newList("bob", map[string]any{"name": "Bob's"})
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			fields             []string
		}{
			{"no name", "POST", "/api/alice/lists", map[string]any{}, 422, []string{"name"}},
			{"empty name", "POST", "/api/alice/lists", map[string]any{"name": "   "}, 422, []string{"name"}},
			{"long name", "POST", "/api/alice/lists", map[string]any{"name": strings.Repeat("ü", 101)}, 422, []string{"name"}},
			{"control character", "POST", "/api/alice/lists", map[string]any{"name": "a\u0000b"}, 422, []string{"name"}},
			{"bad color", "POST", "/api/alice/lists", map[string]any{"name": "x", "color": "red"}, 422, []string{"color"}},
			{"unknown member and bad color", "POST", "/api/alice/lists", map[string]any{"name": "x", "colour": "#000000", "color": "#12345"}, 422, []string{"colour", "color"}},
			{"null name", "PATCH", fmt.Sprintf("/api/alice/lists/%d", other.ID), map[string]any{"name": nil}, 422, []string{"name"}},
			{"duplicate ignoring case", "POST", "/api/alice/lists", map[string]any{"name": "STRASSE"}, 409, []string{"name"}},
			{"rename onto another", "PATCH", fmt.Sprintf("/api/alice/lists/%d", other.ID), map[string]any{"name": "straße"}, 409, []string{"name"}},
			{"wrong type", "POST", "/api/alice/lists", `{"name": 3}`, 400, nil},
			{"unknown query parameter", "GET", "/api/alice/lists?sort=name", nil, 422, []string{"sort"}},
			{"bad delete mode", "DELETE", fmt.Sprintf("/api/alice/lists/%d?tasks=all", other.ID), nil, 422, []string{"tasks"}},
			{"move without after_id", "POST", fmt.Sprintf("/api/alice/lists/%d/move", other.ID), map[string]any{}, 422, []string{"after_id"}},
			{"move after itself", "POST", fmt.Sprintf("/api/alice/lists/%d/move", other.ID), map[string]any{"after_id": other.ID}, 422, []string{"after_id"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				lists := e.countLists()
				p := e.call(tc.method, tc.path, alice, tc.body).problem(t, tc.status)
				if tc.fields != nil && !slices.Equal(p.fields(), tc.fields) {
					t.Errorf("fields %v, want %v (%s)", p.fields(), tc.fields, p.Detail)
				}
				if n := e.countLists(); n != lists {
					t.Errorf("%d lists, %d before", n, lists)
				}
			})
		}
		if got := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", existing.ID), alice, nil).list(t); got.Version != 1 || got.Name != "Straße" {
			t.Errorf("the existing list changed: %+v", got)
		}
	})
}

// TestListLimit is MAX_LISTS_PER_USER: the next list is a 409 naming the
// limit, for that user only, also when many creates race.
func TestListLimit(t *testing.T) {
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			if rlsMode() && driver == config.SQLite {
				t.Skip("TEST_ROW_LEVEL_SECURITY=on: PostgreSQL only")
			}
			// No in-flight cap: it would queue the racing creates below.
			e := newEnv(t, driver, func(c *config.Config) { c.MaxListsPerUser, c.InFlight = 3, config.InFlight{} })
			for i := range 3 {
				e.newList("alice", map[string]any{"name": fmt.Sprint("list ", i)})
			}
			p := e.call("POST", "/api/alice/lists", e.token("alice"), map[string]any{"name": "one too many"}).problem(t, 409)
			if !slices.Equal(p.fields(), []string{"MAX_LISTS_PER_USER"}) {
				t.Errorf("fields %v: %s", p.fields(), p.Detail)
			}
			e.newList("bob", map[string]any{"name": "bob's first"})

			// Racing creates of one user never overshoot the cap: one
			// user's write transactions take turns (on PostgreSQL by the
			// advisory lock their BEGIN takes, database/rls.go), so each
			// counts what the others committed. A slow insert (a test
			// trigger) holds each transaction open between its count and
			// its commit, where a racer would otherwise count the same.
			if driver == config.Postgres {
				for _, ddl := range []string{
					`CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$`,
					`CREATE TRIGGER test_slow_insert BEFORE INSERT ON lists FOR EACH ROW EXECUTE FUNCTION test_slow_insert()`,
				} {
					if err := e.db.Exec(ddl).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			e.listen()
			carol := e.token("carol")
			statuses := make([]int, 30)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = e.call("POST", "/api/carol/lists", carol, map[string]any{"name": fmt.Sprint("racer ", i)}).status
				}()
			}
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[201] != 3 || count[409] != 27 {
				t.Errorf("statuses %v, want 3 × 201 and 27 × 409", count)
			}
			if got := e.listNames(t, "carol"); len(got) != 3 {
				t.Errorf("carol has lists %v, the cap is 3", got)
			}
		})
	}
}

// TestListMove puts lists first, after another, and where they already
// are (which writes nothing), and shows that only the moved list changes.
func TestListMove(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		c := e.newList("alice", map[string]any{"name": "C"})
		b := e.newList("alice", map[string]any{"name": "B"})
		a := e.newList("alice", map[string]any{"name": "A"})
		move := func(id int64, after any) list {
			t.Helper()
			r := e.call("POST", fmt.Sprintf("/api/alice/lists/%d/move", id), alice, map[string]any{"after_id": after})
			if r.status != 200 {
				t.Fatalf("move: %d %s", r.status, r.body)
			}
			return r.list(t)
		}
		if got := move(a.ID, c.ID); got.Version != 2 {
			t.Errorf("moved list version %d", got.Version)
		}
		if got := e.listNames(t, "alice"); !slices.Equal(got, []string{"B", "C", "A"}) {
			t.Errorf("after moving A after C: %v", got)
		}
		if got := move(a.ID, c.ID); got.Version != 2 {
			t.Errorf("a move to where it is wrote: version %d", got.Version)
		}
		move(a.ID, b.ID)
		if got := e.listNames(t, "alice"); !slices.Equal(got, []string{"B", "A", "C"}) {
			t.Errorf("after moving A after B: %v", got)
		}
		move(c.ID, nil)
		if got := e.listNames(t, "alice"); !slices.Equal(got, []string{"C", "B", "A"}) {
			t.Errorf("after moving C first: %v", got)
		}
		for _, l := range []list{b} {
			if got := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", l.ID), alice, nil).list(t); got.Version != 1 {
				t.Errorf("list %s was written by others' moves: version %d", l.Name, got.Version)
			}
		}
	})
}

// TestListDelete: a list with tasks is kept (409 naming how many) unless
// the caller says what happens to them; then they are deleted, or moved to
// the inbox with their subtasks, in the same transaction.
func TestListDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		fill := func(name string) (list, []task) {
			l := e.newList("alice", map[string]any{"name": name})
			a := e.create("alice", map[string]any{"title": name + " a", "list_id": l.ID})
			b := e.create("alice", map[string]any{"title": name + " b", "list_id": l.ID, "completed": true})
			return l, []task{a, b}
		}
		kept, keptTasks := fill("kept")
		p := e.call("DELETE", fmt.Sprintf("/api/alice/lists/%d", kept.ID), alice, nil).problem(t, 409)
		if !strings.Contains(p.Detail, "2 tasks") || !slices.Equal(p.fields(), []string{"tasks"}) {
			t.Errorf("409 does not say how many: %s %v", p.Detail, p.fields())
		}
		if r := e.call("GET", fmt.Sprintf("/api/alice/lists/%d", kept.ID), alice, nil); r.list(t).TaskCount != 2 || r.list(t).PendingCount != 1 {
			t.Errorf("counts: %s", r.body)
		}

		gone, goneTasks := fill("gone")
		if r := e.call("DELETE", fmt.Sprintf("/api/alice/lists/%d?tasks=delete", gone.ID), alice, nil); r.status != 204 {
			t.Fatalf("tasks=delete: %d %s", r.status, r.body)
		}
		for _, tk := range goneTasks {
			if r := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", tk.ID), alice, nil); r.status != 404 {
				t.Errorf("task %d of the deleted list: %d", tk.ID, r.status)
			}
		}

		if r := e.call("DELETE", fmt.Sprintf("/api/alice/lists/%d?tasks=inbox", kept.ID), alice, nil); r.status != 204 {
			t.Fatalf("tasks=inbox: %d %s", r.status, r.body)
		}
		for _, tk := range keptTasks {
			got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", tk.ID), alice, nil).task(t)
			if got.ListID != nil || got.Version != tk.Version+1 {
				t.Errorf("task %d after tasks=inbox: list %v version %d", tk.ID, got.ListID, got.Version)
			}
		}
		if got := e.listNames(t, "alice"); len(got) != 0 {
			t.Errorf("lists left: %v", got)
		}
	})
}
