package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"todo-api/config"
)

// seedPlanData gives alice 1,000 tasks and 49 other users 1,000 each, with
// a spread of states, priorities, tags and due dates, and refreshes the
// planner's statistics.
func seedPlanData(t *testing.T, e *env) {
	t.Helper()
	// g is the row, i the task's number within its user.
	err := e.fixture().Exec(`
		INSERT INTO tasks (user_id, title, description, completed, priority, tags, due_date, version, created_at, updated_at, position)
		SELECT CASE WHEN g % 50 = 0 THEN 'alice' ELSE 'user-' || (g % 50) END,
		       'task ' || g || CASE WHEN i % 7 = 0 THEN ' milk' ELSE '' END,
		       'description ' || g,
		       i % 3 = 0,
		       (ARRAY['low', 'medium', 'high'])[(i / 3) % 3 + 1],
		       (ARRAY['["home", "errands"]', '["work"]', '["home"]', '[]'])[i % 4 + 1]::jsonb,
		       CASE WHEN i % 5 = 0 THEN NULL ELSE timestamptz '2026-01-01' + (i * 7 % 8760) * interval '1 hour' END,
		       1,
		       timestamptz '2026-01-01' + g * interval '1 second',
		       timestamptz '2026-01-01' + g * interval '1 second',
		       'j' || lpad(CAST(50001 - g AS text), 10, '0')
		FROM generate_series(1, 50000) AS g, LATERAL (SELECT g / 50 AS i) AS n`).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Exec("ANALYZE tasks").Error; err != nil {
		t.Fatal(err)
	}
}

// statement is one SQL statement the app ran, with its arguments.
type statement struct {
	sql  string
	vars []any
}

// captureList records the statements a list request runs: the page with
// its total, and a count of its own only past the last page. GORM builds
// the total's subquery with a dry run of the query callbacks, so that
// subquery shows up here on its own as well (it is not sent).
func (e *env) captureList(t *testing.T, query string) []statement {
	t.Helper()
	var mu sync.Mutex
	var got []statement
	name := "test:capture"
	capture := func(db *gorm.DB) {
		mu.Lock()
		got = append(got, statement{db.Statement.SQL.String(), append([]any(nil), db.Statement.Vars...)})
		mu.Unlock()
	}
	if err := e.db.Callback().Query().After("gorm:query").Register(name, capture); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Callback().Row().After("gorm:row").Register(name, capture); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = e.db.Callback().Query().Remove(name)
		_ = e.db.Callback().Row().Remove(name)
	}()
	r := e.call("GET", "/api/alice/tasks?"+query, e.token("alice"), nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	t.Logf("X-Total-Count: %s", r.header.Get("X-Total-Count"))
	mu.Lock()
	defer mu.Unlock()
	return got
}

// TestListPlanUsesIndexes is the "done when": on PostgreSQL, the list
// of a user with 1,000 tasks, with every filter at once, is answered from
// indexes, never by reading the whole tasks table — and so is every other
// statement of a list request.
func TestListPlanUsesIndexes(t *testing.T) {
	e := newEnv(t, config.Postgres)
	seedPlanData(t, e)
	all := url.Values{
		"status": {"pending"}, "priority": {"high,medium"}, "tag": {"home", "errands"}, "q": {"MILK"},
		"due_after": {"2026-06-01T00:00:00Z"}, "due_before": {"2026-12-31T00:00:00Z"}, "overdue": {"true"},
	}.Encode()
	sqlDB, err := e.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	explain := func(t *testing.T, st statement) string {
		rows, err := sqlDB.Query("EXPLAIN "+st.sql, st.vars...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		return strings.Join(plan, "\n")
	}
	for _, tc := range []struct {
		query, index string // index: one the plan must name
	}{
		{all, ""},
		{all + "&sort=due_date&order=desc", ""},
		{all + "&sort=priority&limit=2&offset=2", ""},
		{"tag=work", ""},
		// A rare tag is found through the GIN index on tags.
		{"tag=nowhere&tag=home", "idx_tasks_tags"},
		{"", "idx_tasks_user_created"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			stmts := e.captureList(t, tc.query)
			if len(stmts) < 1 {
				t.Fatalf("%d statements", len(stmts))
			}
			var plans []string
			for _, st := range stmts {
				plan := explain(t, st)
				t.Logf("%s\n%s", st.sql, plan)
				if strings.Contains(plan, "Seq Scan on tasks") || !strings.Contains(plan, "Index") {
					t.Errorf("not index-backed:\n%s", plan)
				}
				plans = append(plans, plan)
			}
			if !strings.Contains(strings.Join(plans, "\n"), tc.index) {
				t.Errorf("no plan uses %s", tc.index)
			}
		})
	}
}

// TestListInListPlanUsesIndex: the tasks of one list in manual order — the
// list-in-list bench workload — come from idx_tasks_user_list, an index
// that starts with user_id, never from a scan of the tasks table; so do
// the inbox and a list's default order.
func TestListInListPlanUsesIndex(t *testing.T) {
	e := newEnv(t, config.Postgres)
	err := e.fixture().Exec(`
		INSERT INTO lists (user_id, name, name_key, position, version, created_at, updated_at)
		SELECT u.name, 'list ' || n, 'list ' || n, 'j' || lpad(CAST(n AS text), 10, '0'), 1, now(), now()
		FROM (SELECT 'alice' AS name UNION ALL SELECT 'user-' || g FROM generate_series(1, 49) AS g) AS u,
		     generate_series(1, 20) AS n`).Error
	if err != nil {
		t.Fatal(err)
	}
	err = e.fixture().Exec(`
		INSERT INTO tasks (user_id, title, completed, priority, tags, version, created_at, updated_at, position, list_id)
		SELECT owner, 'task ' || g, g % 3 = 0, 'medium', '[]'::jsonb, 1,
		       timestamptz '2026-01-01' + g * interval '1 second', timestamptz '2026-01-01' + g * interval '1 second',
		       'j' || lpad(CAST(50001 - g AS text), 10, '0'),
		       CASE WHEN g % 21 = 0 THEN NULL ELSE (SELECT id FROM lists WHERE lists.user_id = owner AND name_key = 'list ' || (g % 20 + 1)) END
		FROM generate_series(1, 50000) AS g,
		     LATERAL (SELECT CASE WHEN g % 50 = 0 THEN 'alice' ELSE 'user-' || (g % 50) END AS owner) AS o`).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Exec("ANALYZE tasks; ANALYZE lists").Error; err != nil {
		t.Fatal(err)
	}
	var list int64
	if err := e.db.Raw("SELECT id FROM lists WHERE user_id = 'alice' AND name_key = 'list 11'").Scan(&list).Error; err != nil || list == 0 {
		t.Fatalf("alice's list: %d %v", list, err)
	}
	sqlDB, err := e.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{
		fmt.Sprintf("list=%d&sort=position", list),
		"list=inbox&sort=position",
		fmt.Sprintf("list=%d&sort=position&parent=none", list),
	} {
		t.Run(query, func(t *testing.T) {
			for _, st := range e.captureList(t, query) {
				rows, err := sqlDB.Query("EXPLAIN "+st.sql, st.vars...)
				if err != nil {
					t.Fatal(err)
				}
				var plan []string
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, line)
				}
				rows.Close()
				text := strings.Join(plan, "\n")
				t.Logf("%s\n%s", st.sql, text)
				if strings.Contains(text, "Seq Scan on tasks") || !strings.Contains(text, "idx_tasks_user_list") {
					t.Errorf("not served by idx_tasks_user_list:\n%s", text)
				}
			}
		})
	}
	// The listing of lists counts each list's tasks from the same index.
	var plan []string
	if err := e.db.Raw("EXPLAIN " + `SELECT lists.id,
		(SELECT COUNT(*) FROM tasks WHERE tasks.user_id = lists.user_id AND tasks.list_id = lists.id) AS task_count
		FROM lists WHERE lists.user_id = 'alice'`).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); strings.Contains(text, "Seq Scan on tasks") {
		t.Errorf("the counts scan tasks:\n%s", text)
	}
}
