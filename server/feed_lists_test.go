package server_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"todo-api/config"
	"todo-api/internal/testpg"
)

// listedLists is every list of user with its version, from GET /lists.
func listedLists(t *testing.T, e *env, user string) map[int64]int64 {
	t.Helper()
	var got []list
	e.call("GET", "/api/"+user+"/lists", e.token(user), nil).decode(t, &got)
	out := map[int64]int64{}
	for _, l := range got {
		out[l.ID] = l.Version
	}
	return out
}

// sameState checks a replica against both lists: tasks and lists, ids and
// versions.
func sameState(t *testing.T, what string, e *env, user string, r *replica) {
	t.Helper()
	sameTasks(t, what+" (tasks)", r.versions, listed(t, e, user))
	if r.lists == nil {
		r.lists = map[int64]int64{}
	}
	sameTasks(t, what+" (lists)", r.lists, listedLists(t, e, user))
}

// TestChangeFeedCarriesLists: lists take positions in the same history as
// tasks; after creates, edits, moves and deletes of both, following the
// feed and a full sync from scratch each rebuild exactly GET /tasks and
// GET /lists, and a list's entry is the list as GET /lists/{id} shows it.
func TestChangeFeedCarriesLists(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		call := func(method, path string, body any, headers ...string) response {
			return e.call(method, "/api/alice"+path, alice, body, headers...)
		}
		follow := &replica{versions: map[int64]int64{}}
		var work, errands, spare list
		var a, b, sub task
		steps := []struct {
			name string
			do   func()
		}{
			{"lists created", func() {
				work = e.newList("alice", map[string]any{"name": "Work"})
				errands = e.newList("alice", map[string]any{"name": "Errands", "color": "#2f9e44"})
				spare = e.newList("alice", map[string]any{"name": "Spare"})
				e.newList("bob", map[string]any{"name": "Bob's"})
			}},
			{"tasks filed and a subtask", func() {
				a = e.create("alice", map[string]any{"title": "a", "list_id": work.ID})
				b = e.create("alice", map[string]any{"title": "b", "list_id": errands.ID})
				sub = e.create("alice", map[string]any{"title": "sub", "parent_id": a.ID})
				e.create("alice", map[string]any{"title": "in spare", "list_id": spare.ID})
			}},
			{"a list renamed and moved", func() {
				call("PATCH", fmt.Sprintf("/lists/%d", work.ID), map[string]any{"name": "Office"})
				call("POST", fmt.Sprintf("/lists/%d/move", spare.ID), map[string]any{"after_id": nil})
			}},
			{"a task moved to another list", func() {
				call("POST", fmt.Sprintf("/tasks/%d/move", b.ID), map[string]any{"list_id": work.ID})
			}},
			{"a list deleted with its tasks", func() {
				if r := call("DELETE", fmt.Sprintf("/lists/%d?tasks=delete", spare.ID), nil); r.status != 204 {
					t.Fatalf("delete: %d %s", r.status, r.body)
				}
			}},
			{"a list deleted, its tasks to the inbox", func() {
				if r := call("DELETE", fmt.Sprintf("/lists/%d?tasks=inbox", work.ID), nil); r.status != 204 {
					t.Fatalf("delete: %d %s", r.status, r.body)
				}
			}},
			{"an empty list deleted, a task deleted", func() {
				call("DELETE", fmt.Sprintf("/lists/%d", errands.ID), nil)
				call("DELETE", fmt.Sprintf("/tasks/%d", sub.ID), nil)
			}},
		}
		for _, step := range steps {
			t.Run(step.name, func(t *testing.T) {
				step.do()
				if n := follow.sync(t, e, "alice", 2); n == 0 {
					t.Error("no change in the feed")
				}
				sameState(t, step.name, e, "alice", follow)
				fresh := &replica{versions: map[int64]int64{}}
				fresh.sync(t, e, "alice", 1)
				sameState(t, step.name+", from scratch", e, "alice", fresh)
			})
		}

		t.Run("a list's entry is the list as GET shows it", func(t *testing.T) {
			l := e.newList("alice", map[string]any{"name": "Shown"})
			e.create("alice", map[string]any{"title": "counted", "list_id": l.ID})
			call("PATCH", fmt.Sprintf("/lists/%d", l.ID), map[string]any{"color": "#123456"})
			var page feedPage
			e.feedAt("alice", follow.cursor, 100).decode(t, &page)
			got := page.Changes[len(page.Changes)-1]
			want := call("GET", fmt.Sprintf("/lists/%d", l.ID), nil).list(t)
			if got.Op != "upsert" || got.List == nil || got.Task != nil {
				t.Fatalf("entry %+v, want the list", got)
			}
			g, _ := json.Marshal(got.List)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("entry's list %s, GET answers %s", g, w)
			}
			follow.sync(t, e, "alice", 100)
		})
		t.Run("deleting a list with tasks: the tasks' deletes, then the list's", func(t *testing.T) {
			l := e.newList("alice", map[string]any{"name": "Doomed"})
			in := e.create("alice", map[string]any{"title": "doomed", "list_id": l.ID})
			follow.sync(t, e, "alice", 100)
			call("DELETE", fmt.Sprintf("/lists/%d?tasks=delete", l.ID), nil)
			var page feedPage
			e.feedAt("alice", follow.cursor, 100).decode(t, &page)
			if len(page.Changes) != 2 || page.Changes[0].ID != in.ID || page.Changes[1].ListID != l.ID || page.Changes[1].Op != "delete" {
				t.Errorf("changes %+v", page.Changes)
			}
			follow.sync(t, e, "alice", 100)
		})
		t.Run("list writes that change nothing are no change", func(t *testing.T) {
			l := e.newList("alice", map[string]any{"name": "Still"})
			follow.sync(t, e, "alice", 100)
			call("PATCH", fmt.Sprintf("/lists/%d", l.ID), map[string]any{"name": "Still"})
			call("POST", fmt.Sprintf("/lists/%d/move", l.ID), map[string]any{"after_id": e.lastListID(t, "alice", l.ID)})
			if n := follow.sync(t, e, "alice", 100); n != 0 {
				t.Errorf("%d changes after list writes that changed nothing", n)
			}
		})
		t.Run("bob's feed is bob's", func(t *testing.T) {
			bob := &replica{versions: map[int64]int64{}}
			bob.sync(t, e, "bob", 100)
			sameState(t, "bob", e, "bob", bob)
			if len(bob.lists) != 1 {
				t.Errorf("bob's lists %v", bob.lists)
			}
		})
	})
}

// lastListID is the id of the list just before id in user's order (nil
// when it is first), for a move to where it already is.
func (e *env) lastListID(t *testing.T, user string, id int64) any {
	t.Helper()
	var got []list
	e.call("GET", "/api/"+user+"/lists", e.token(user), nil).decode(t, &got)
	var before any
	for _, l := range got {
		if l.ID == id {
			return before
		}
		before = l.ID
	}
	t.Fatalf("list %d not in %v", id, got)
	return nil
}

// oldFeedBody is the feed trigger function of the release before lists
// had positions.
const oldFeedBody = `
DECLARE pos bigint;
BEGIN
	INSERT INTO user_usage AS u (user_id, changes_head)
	VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END, 1)
	ON CONFLICT (user_id) DO UPDATE SET changes_head = u.changes_head + 1
	RETURNING u.changes_head INTO pos;
	IF TG_OP = 'DELETE' THEN
		INSERT INTO task_tombstones (user_id, seq, task_id, deleted_at) VALUES (OLD.user_id, pos, OLD.id, now());
		RETURN OLD;
	END IF;
	NEW.change_seq := pos;
	RETURN NEW;
END`

// downgradeFeed turns e's database back into what the release before lists
// had positions left: lists without change_seq or triggers, tombstones
// without kind, user_usage without a floor, the old trigger function.
func downgradeFeed(t *testing.T, e *env) {
	t.Helper()
	steps := []string{
		"DROP INDEX idx_lists_user_change",
		"ALTER TABLE lists DROP COLUMN change_seq",
		"ALTER TABLE task_tombstones DROP COLUMN kind",
		"ALTER TABLE user_usage DROP COLUMN changes_floor",
	}
	if e.cfg.Database.Driver == config.Postgres {
		steps = append([]string{
			"DROP TRIGGER todo_feed_list_write ON lists",
			"DROP TRIGGER todo_feed_list_delete ON lists",
			"DROP TRIGGER todo_feed_floor_delete ON task_tombstones",
			"DROP TRIGGER todo_feed_floor_truncate ON task_tombstones",
			"DROP FUNCTION todo_feed_floor()",
			"CREATE OR REPLACE FUNCTION todo_feed_task() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $fn$" + oldFeedBody + "$fn$",
		}, steps...)
	} else {
		steps = append([]string{
			"DROP TRIGGER todo_feed_lists_insert", "DROP TRIGGER todo_feed_lists_update", "DROP TRIGGER todo_feed_lists_delete",
			"DROP TRIGGER todo_feed_floor", "DROP TRIGGER todo_feed_task_delete",
			`CREATE TRIGGER todo_feed_task_delete AFTER DELETE ON tasks BEGIN
				INSERT INTO user_usage (user_id, changes_head) VALUES (OLD.user_id, 1)
					ON CONFLICT (user_id) DO UPDATE SET changes_head = changes_head + 1;
				INSERT INTO task_tombstones (user_id, seq, task_id, deleted_at)
					SELECT OLD.user_id, changes_head, OLD.id, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now') FROM user_usage WHERE user_id = OLD.user_id;
			END`,
		}, steps...)
	}
	for _, s := range steps {
		if err := e.db.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", strings.SplitN(s, "\n", 2)[0], err)
		}
	}
}

// TestChangeFeedUpgradeGivesListsPositions: a database from the release
// before lists were in the feed (lists and tasks, a deleted task) starts
// under this one, on PostgreSQL as three instances at once: its lists get
// positions after their user's head, once, and a full sync then rebuilds
// both lists; a client's cursor from before the upgrade still works.
func TestChangeFeedUpgradeGivesListsPositions(t *testing.T) {
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			if rlsMode() {
				t.Skip("the fixture is made by the owner; TEST_ROW_LEVEL_SECURITY=on runs PostgreSQL's upgrade in TestConcurrentUpgrade")
			}
			dsn := filepath.Join(t.TempDir(), "todo.db")
			if driver == config.Postgres {
				dsn = testpg.NewDatabase(t)
			}
			old := newEnv(t, driver, func(c *config.Config) { c.Database.DSN = dsn })
			for _, user := range []string{"alice", "bob"} {
				l := old.newList(user, map[string]any{"name": user + "'s"})
				old.newList(user, map[string]any{"name": "other"})
				old.create(user, map[string]any{"title": "filed", "list_id": l.ID})
				gone := old.create(user, map[string]any{"title": "gone"})
				old.call("DELETE", fmt.Sprintf("/api/%s/tasks/%d", user, gone.ID), old.token(user), nil)
			}
			before := &replica{versions: map[int64]int64{}}
			before.sync(t, old, "alice", 100)
			downgradeFeed(t, old)
			if driver == config.Postgres {
				startConcurrently(t, dsn, 3)
			}
			e := newEnv(t, driver, func(c *config.Config) { c.Database.DSN = dsn })
			var dup int64
			e.db.Raw(`SELECT count(*) FROM (SELECT user_id, change_seq FROM lists UNION ALL SELECT user_id, change_seq FROM tasks) AS p
				GROUP BY user_id, change_seq HAVING count(*) > 1 OR change_seq IS NULL`).Scan(&dup)
			if dup != 0 {
				t.Errorf("positions shared or missing after the upgrade")
			}
			for _, user := range []string{"alice", "bob"} {
				full := &replica{versions: map[int64]int64{}}
				full.sync(t, e, user, 1)
				sameState(t, user+"'s full sync after the upgrade", e, user, full)
				if len(full.lists) != 2 {
					t.Errorf("%s's lists in the feed: %v", user, full.lists)
				}
			}
			// The lists' positions are after the old head: the old cursor
			// receives them.
			before.sync(t, e, "alice", 100)
			sameState(t, "a cursor from before the upgrade", e, "alice", before)
			l := e.newList("alice", map[string]any{"name": "new"})
			e.call("DELETE", fmt.Sprintf("/api/alice/lists/%d", l.ID), e.token("alice"), nil)
			before.sync(t, e, "alice", 100)
			sameState(t, "a list created and deleted after the upgrade", e, "alice", before)
		})
	}
}
