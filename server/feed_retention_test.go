package server_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"todo-api/database"
)

const retention = 30 * 24 * time.Hour

// feedAt reads one page of user's feed from cursor ("" for a full sync).
func (e *env) feedAt(user, cursor string, limit int) response {
	e.t.Helper()
	path := fmt.Sprintf("/api/%s/tasks/changes?limit=%d", user, limit)
	if cursor != "" {
		path += "&since=" + url.QueryEscape(cursor)
	}
	return e.call("GET", path, e.token(user), nil)
}

// headCursor is the cursor a full sync of user ends at now.
func (e *env) headCursor(t *testing.T, user string) string {
	t.Helper()
	r := &replica{versions: map[int64]int64{}}
	r.sync(t, e, user, 500)
	return r.cursor
}

// backdate moves the deletion time of user's tombstone of task id back by
// age, as if the delete had happened then (the database stamps it with its
// own clock, which no test can move).
func (e *env) backdate(t *testing.T, user string, id int64, age time.Duration) {
	t.Helper()
	res := e.db.Exec("UPDATE task_tombstones SET deleted_at = ? WHERE user_id = ? AND task_id = ? AND kind = 'task'",
		e.clock.Now().Add(-age), user, id)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("backdating %s's tombstone of %d: %v (%d rows)", user, id, res.Error, res.RowsAffected)
	}
}

// floorOf is user's floor as the database keeps it.
func (e *env) floorOf(t *testing.T, user string) int64 {
	t.Helper()
	var floor int64
	if err := e.db.Raw("SELECT changes_floor FROM user_usage WHERE user_id = ?", user).Scan(&floor).Error; err != nil {
		t.Fatal(err)
	}
	return floor
}

// TestChangeFeedRetention: the janitor purges old tombstones (through the
// app's own connection, which row-level security binds in that mode); a
// cursor from before the purged deletes is 410 and tells the client to
// start over, one at or after them still works and skips nothing, another
// user's cursors are unaffected, and a full sync never meets a 410, also
// paging one task at a time across the floor.
func TestChangeFeedRetention(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ids := map[string][]int64{}
		for _, user := range []string{"alice", "bob"} {
			for i := range 4 {
				ids[user] = append(ids[user], e.create(user, map[string]any{"title": fmt.Sprint(user, i)}).ID)
			}
		}
		before := map[string]string{"alice": e.headCursor(t, "alice"), "bob": e.headCursor(t, "bob")}
		for _, user := range []string{"alice", "bob"} {
			e.call("DELETE", fmt.Sprintf("/api/%s/tasks/%d", user, ids[user][0]), e.token(user), nil)
		}
		// At the floor to be: right after alice's purged delete.
		atFloor := &replica{versions: map[int64]int64{}}
		atFloor.sync(t, e, "alice", 500)
		e.call("DELETE", fmt.Sprintf("/api/alice/tasks/%d", ids["alice"][1]), e.token("alice"), nil)

		e.backdate(t, "alice", ids["alice"][0], retention+10*24*time.Hour)
		e.backdate(t, "alice", ids["alice"][1], retention-24*time.Hour)
		e.backdate(t, "bob", ids["bob"][0], retention-24*time.Hour)
		n, err := database.PurgeTombstones(context.Background(), e.appDB, e.clock.Now().Add(-retention))
		if err != nil || n != 1 {
			t.Fatalf("purge: %d tombstones, %v; want 1", n, err)
		}
		if f := e.floorOf(t, "alice"); f == 0 || e.floorOf(t, "bob") != 0 {
			t.Fatalf("floors after the purge: alice %d, bob %d", f, e.floorOf(t, "bob"))
		}

		t.Run("alice's cursor from before the purged delete is gone", func(t *testing.T) {
			p := e.feedAt("alice", before["alice"], 100).problem(t, 410)
			if p.Type != "urn:todo-api:problem:cursor-expired" || len(p.Errors) != 1 || p.Errors[0].Field != "since" {
				t.Errorf("problem %+v", p)
			}
		})
		t.Run("bob's cursor from the same moment still works", func(t *testing.T) {
			r := e.feedAt("bob", before["bob"], 100)
			var page feedPage
			r.decode(t, &page)
			if r.status != 200 || len(page.Changes) != 1 || page.Changes[0].Op != "delete" || page.Changes[0].ID != ids["bob"][0] {
				t.Errorf("bob's page: %d %s", r.status, r.body)
			}
		})
		t.Run("a cursor at the floor skips nothing", func(t *testing.T) {
			e.create("alice", map[string]any{"title": "after"})
			e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", ids["alice"][2]), e.token("alice"), map[string]any{"title": "edited"})
			atFloor.sync(t, e, "alice", 1)
			sameTasks(t, "from the floor", atFloor.versions, listed(t, e, "alice"))
		})
		t.Run("a full sync never meets the floor", func(t *testing.T) {
			for _, user := range []string{"alice", "bob"} {
				full := &replica{versions: map[int64]int64{}}
				full.sync(t, e, user, 1)
				sameTasks(t, user+"'s full sync, a task a page", full.versions, listed(t, e, user))
				if r := e.feedAt(user, full.cursor, 10); r.status != 200 {
					t.Errorf("%s's cursor after a full sync: %d %s", user, r.status, r.body)
				}
			}
		})
		t.Run("a purge after a full sync's first page expires it", func(t *testing.T) {
			r := e.feedAt("alice", "", 1)
			var page feedPage
			r.decode(t, &page)
			if !page.HasMore {
				t.Fatalf("one page holds alice's history: %s", r.body)
			}
			e.backdate(t, "alice", ids["alice"][1], retention+time.Hour)
			if n, err := database.PurgeTombstones(context.Background(), e.appDB, e.clock.Now().Add(-retention)); err != nil || n != 1 {
				t.Fatalf("purge: %d, %v", n, err)
			}
			// The sync began after this delete, so it never sent the task:
			// the purge does not concern it.
			if r := e.feedAt("alice", page.Cursor, 10); r.status != 200 {
				t.Errorf("the full sync's next page: %d %s", r.status, r.body)
			}
			e.call("DELETE", fmt.Sprintf("/api/alice/tasks/%d", ids["alice"][2]), e.token("alice"), nil)
			e.backdate(t, "alice", ids["alice"][2], retention+time.Hour)
			if n, err := database.PurgeTombstones(context.Background(), e.appDB, e.clock.Now().Add(-retention)); err != nil || n != 1 {
				t.Fatalf("purge: %d, %v", n, err)
			}
			// This delete came after the first page, which may have sent
			// the task: the sync must start over.
			e.feedAt("alice", page.Cursor, 10).problem(t, 410)
		})
	})
}

// TestTombstonePurgeConcurrent: janitors of several instances purging at
// once delete every old tombstone once, without an error (deadlock), and
// raise each user's floor to the last one.
func TestTombstonePurgeConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const perUser = 30
		for _, user := range []string{"alice", "bob"} {
			for range perUser {
				id := e.create(user, map[string]any{"title": "x"}).ID
				e.call("DELETE", fmt.Sprintf("/api/%s/tasks/%d", user, id), e.token(user), nil)
			}
		}
		if err := e.db.Exec("UPDATE task_tombstones SET deleted_at = ?", e.clock.Now().Add(-2*retention)).Error; err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := database.PurgeTombstones(context.Background(), e.appDB, e.clock.Now().Add(-retention))
				if err != nil {
					t.Errorf("purge: %v", err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		// A janitor that found another purging skipped its turn: run once
		// more, as the next tick would.
		n, err := database.PurgeTombstones(context.Background(), e.appDB, e.clock.Now().Add(-retention))
		if total += n; err != nil || total != 2*perUser {
			t.Fatalf("purged %d tombstones (%v), want %d", total, err, 2*perUser)
		}
		for _, user := range []string{"alice", "bob"} {
			head, _ := e.headOf(t, user)
			if f := e.floorOf(t, user); f != head {
				t.Errorf("%s's floor %d, want the head %d", user, f, head)
			}
		}
	})
}

// headOf is user's head as the database keeps it.
func (e *env) headOf(t *testing.T, user string) (int64, error) {
	t.Helper()
	var head int64
	err := e.db.Raw("SELECT changes_head FROM user_usage WHERE user_id = ?", user).Scan(&head).Error
	return head, err
}

// TestTombstonePurgeRowLevelSecurity: under row-level security the
// janitor's scope reaches no tombstone younger than the shortest
// retention, whatever cutoff it is given; without it the cutoff decides.
func TestTombstonePurgeRowLevelSecurity(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		id := e.create("alice", map[string]any{"title": "x"}).ID
		e.call("DELETE", fmt.Sprintf("/api/alice/tasks/%d", id), e.token("alice"), nil)
		n, err := database.PurgeTombstones(context.Background(), e.appDB, time.Now().Add(24*time.Hour))
		want := int64(1)
		if rlsMode() {
			want = 0
		}
		if err != nil || n != want {
			t.Errorf("purged %d (%v), want %d", n, err, want)
		}
	})
}
