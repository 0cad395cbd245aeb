package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"todo-api/config"
)

// quotas sets the per-user caps a test runs with (the test default is none).
func quotas(tasks, keys int) func(*config.Config) {
	return func(c *config.Config) { c.Database.Quotas = config.Quotas{Tasks: tasks, IdempotencyKeys: keys} }
}

// userTasks counts one user's task rows in the database itself.
func (e *env) userTasks(user string) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Table("tasks").Where("user_id = ?", user).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// refusedByQuota checks a 409 that names the cap.
func refusedByQuota(t *testing.T, r response, want string) {
	t.Helper()
	p := r.problem(t, 409)
	if !strings.Contains(p.Detail, want) {
		t.Errorf("detail %q does not say %q", p.Detail, want)
	}
}

// TestTaskQuota: MAX_TASKS_PER_USER caps each user's tasks on every path
// that adds one, frees a place with every path that removes one, and a
// refused write changes nothing.
func TestTaskQuota(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		var ids []int64
		for i := range 3 {
			ids = append(ids, e.create("alice", map[string]any{"title": fmt.Sprint("task ", i)}).ID)
		}
		create := func(body map[string]any, headers ...string) response {
			return e.call("POST", "/api/me/tasks", alice, body, headers...)
		}

		t.Run("the create past the cap is a 409 that names it", func(t *testing.T) {
			refusedByQuota(t, create(map[string]any{"title": "one too many"}), "3 tasks")
			if n := e.userTasks("alice"); n != 3 {
				t.Errorf("alice has %d tasks", n)
			}
		})
		t.Run("the stats show the cap", func(t *testing.T) {
			var s struct {
				Total    int64 `json:"total"`
				MaxTasks *int  `json:"max_tasks"`
			}
			r := e.call("GET", "/api/me/tasks/stats", alice, nil)
			r.decode(t, &s)
			if s.Total != 3 || s.MaxTasks == nil || *s.MaxTasks != 3 {
				t.Errorf("stats %+v", s)
			}
		})
		t.Run("another user's tasks are their own count", func(t *testing.T) {
			if r := e.call("POST", "/api/me/tasks", e.token("bob"), map[string]any{"title": "bob's"}); r.status != 201 {
				t.Errorf("bob: %d %s", r.status, r.body)
			}
		})
		t.Run("a keyed create past the cap stores no key", func(t *testing.T) {
			refusedByQuota(t, create(map[string]any{"title": "keyed"}, "Idempotency-Key", "k1"), "3 tasks")
			e.call("DELETE", fmt.Sprintf("/api/me/tasks/%d", ids[0]), alice, nil)
			r := create(map[string]any{"title": "keyed"}, "Idempotency-Key", "k1")
			if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("after a delete, the retry: %d %s", r.status, r.body)
			}
		})
		t.Run("completing a recurring task at the cap keeps it open", func(t *testing.T) {
			// ids[0] is gone and "keyed" took its place: replace ids[1]
			// with a daily task, so alice is at the cap with it.
			e.call("DELETE", fmt.Sprintf("/api/me/tasks/%d", ids[1]), alice, nil)
			daily := e.create("alice", map[string]any{"title": "daily", "due_date": "2026-11-28T09:00:00Z", "recurrence": "daily"})
			before := e.row(t, daily.ID)
			for _, path := range []string{"/toggle", "/complete"} {
				refusedByQuota(t, e.call("PATCH", fmt.Sprintf("/api/me/tasks/%d%s", daily.ID, path), alice, nil), "3 tasks")
			}
			refusedByQuota(t, e.call("PATCH", fmt.Sprintf("/api/me/tasks/%d", daily.ID), alice, map[string]any{"completed": true}), "3 tasks")
			e.unchanged(t, daily.ID, before)
			// A task that spawns nothing completes at the cap.
			if r := e.call("PATCH", fmt.Sprintf("/api/me/tasks/%d/toggle", ids[2]), alice, nil); r.status != 200 {
				t.Errorf("a plain toggle at the cap: %d %s", r.status, r.body)
			}
		})
		t.Run("clearing completed tasks frees their places", func(t *testing.T) {
			var del struct{ Deleted int64 }
			e.call("DELETE", "/api/me/tasks?status=completed", alice, nil).decode(t, &del)
			if del.Deleted != 1 {
				t.Fatalf("deleted %d", del.Deleted)
			}
			if r := create(map[string]any{"title": "in the freed place"}); r.status != 201 {
				t.Errorf("%d %s", r.status, r.body)
			}
			refusedByQuota(t, create(map[string]any{"title": "one too many"}), "3 tasks")
		})
		t.Run("a truncated table counts from zero", func(t *testing.T) {
			if e.cfg.Database.Driver != config.Postgres {
				t.Skip("SQLite has no TRUNCATE; its DELETE fires the delete trigger")
			}
			if err := e.fixture().Exec("TRUNCATE tasks").Error; err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if r := create(map[string]any{"title": fmt.Sprint("after ", i)}); r.status != 201 {
					t.Fatalf("create %d after TRUNCATE: %d %s", i, r.status, r.body)
				}
			}
			refusedByQuota(t, create(map[string]any{"title": "one too many"}), "3 tasks")
		})
		t.Run("a fixture past the cap is refused by the database itself", func(t *testing.T) {
			err := e.fixture().Exec("INSERT INTO tasks (user_id, title, priority, tags, version, created_at, updated_at) VALUES ('alice', 'raw', 'medium', '[]', 1, ?, ?)",
				e.clock.Now(), e.clock.Now()).Error
			if err == nil || !strings.Contains(err.Error(), "todo-api quota") {
				t.Errorf("a raw insert past the cap: %v", err)
			}
			if n := e.userTasks("alice"); n != 3 {
				t.Errorf("alice has %d tasks", n)
			}
		})
	}, quotas(3, 0))
}

// TestTaskQuotaUnderConcurrency: 100 creates at once against a cap of 20
// create exactly 20 tasks, and each of the others is told so.
func TestTaskQuotaUnderConcurrency(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice := e.token("alice")
		statuses := make([]int, 100)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.call("POST", "/api/me/tasks", alice, map[string]any{"title": fmt.Sprint("racer ", i)}).status
			}()
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[201] != 20 || count[409] != 80 {
			t.Errorf("statuses %v, want 20 × 201 and 80 × 409", count)
		}
		if n := e.userTasks("alice"); n != 20 {
			t.Errorf("alice has %d tasks, the cap is 20", n)
		}
	}, quotas(20, 0), func(c *config.Config) { c.RateLimit = config.RateLimit{} })
}

// TestIdempotencyKeyQuota: MAX_IDEMPOTENCY_KEYS_PER_USER caps the keys a
// user stores; creates without a key and replays of stored keys go on.
func TestIdempotencyKeyQuota(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		post := func(key string) response {
			return e.call("POST", "/api/me/tasks", alice, map[string]any{"title": "t " + key}, "Idempotency-Key", key)
		}
		for _, key := range []string{"a", "b"} {
			if r := post(key); r.status != 201 {
				t.Fatalf("key %s: %d %s", key, r.status, r.body)
			}
		}
		tasks := e.userTasks("alice")
		refusedByQuota(t, post("c"), "2 idempotency keys")
		if n := e.userTasks("alice"); n != tasks {
			t.Errorf("the refused create stored a task")
		}
		if r := post("a"); r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("a replay at the cap: %d %v", r.status, r.header)
		}
		if r := e.call("POST", "/api/me/tasks", alice, map[string]any{"title": "no key"}); r.status != 201 {
			t.Errorf("a create without a key: %d", r.status)
		}
		if r := e.call("POST", "/api/me/tasks", e.token("bob"), map[string]any{"title": "bob"}, "Idempotency-Key", "c"); r.status != 201 {
			t.Errorf("bob's first key: %d", r.status)
		}
	}, quotas(0, 2))
}

// TestQuotaCountsExistingRows: a database made before quotas existed (no
// usage table, no triggers) gets its users' rows counted when a version with
// quotas first starts on it, so the cap holds from the first request.
func TestQuotaCountsExistingRows(t *testing.T) {
	if rlsMode() {
		t.Skip("the upgrade runs as the tables' owner; without row-level security this test does")
	}
	eachDB(t, func(t *testing.T, e *env) {
		for i := range 3 {
			e.create("alice", map[string]any{"title": fmt.Sprint("old ", i)})
		}
		e.create("bob", map[string]any{"title": "bob's"})
		// What a database of the version before quotas lacks.
		drops := []string{"DROP TRIGGER todo_count_tasks_insert", "DROP TRIGGER todo_count_tasks_delete",
			"DROP TRIGGER todo_count_idempotency_keys_insert", "DROP TRIGGER todo_count_idempotency_keys_delete", "DROP TABLE user_usage"}
		if e.cfg.Database.Driver == config.Postgres {
			drops = []string{"DROP TABLE user_usage", "DROP FUNCTION todo_count_tasks CASCADE", "DROP FUNCTION todo_count_idempotency_keys CASCADE"}
		}
		for _, d := range drops {
			if err := e.fixture().Exec(d).Error; err != nil {
				t.Fatalf("%s: %v", d, err)
			}
		}
		upgraded := newEnv(t, e.cfg.Database.Driver, func(c *config.Config) { c.Database = e.cfg.Database }, quotas(3, 0))
		refusedByQuota(t, upgraded.call("POST", "/api/me/tasks", upgraded.token("alice"), map[string]any{"title": "new"}), "3 tasks")
		for _, title := range []string{"bob's second", "bob's third"} {
			if r := upgraded.call("POST", "/api/me/tasks", upgraded.token("bob"), map[string]any{"title": title}); r.status != 201 {
				t.Errorf("bob, with 1 task before: %d %s", r.status, r.body)
			}
		}
		refusedByQuota(t, upgraded.call("POST", "/api/me/tasks", upgraded.token("bob"), map[string]any{"title": "fourth"}), "3 tasks")
	})
}
