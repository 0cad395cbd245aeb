package database

import (
	"bytes"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/internal/testpg"
	"todo-api/models"
)

// trickyTasks are titles and descriptions for the search's edge cases:
// LIKE's wildcards and escape character, backslashes, case, non-ASCII
// text and scripts without spaces.
var trickyTasks = []struct{ title, description string }{
	{"100% done", ""},
	{"100 percent", ""},
	{"snake_case name", ""},
	{"snakeXcase name", ""},
	{`back\slash`, ""},
	{"back/slash", ""},
	{"excl!mation", ""},
	{"Café au lait", "CAFÉ NOIR"},
	{"ÅNGSTRÖM ünïcødé", ""},
	{"MiXeD CaSe", ""},
	{"plain", "hidden 50%_off! deal"},
	{"日本語のタスク", ""},
}

// TestSearchIndexSameRows: on PostgreSQL with pg_trgm, q= read through the
// trigram indexes returns exactly the rows of the plan without them, for
// every tricky search, for each of two users (each with the same tasks:
// neither sees the other's). The indexed plan is made to read the trigram
// indexes even where the planner would not (a search of one or two
// characters extracts no trigram, and the index is read whole), so each
// case goes through the index's recheck.
func TestSearchIndexSameRows(t *testing.T) {
	db, err := Open(config.Database{Driver: config.Postgres, DSN: testpg.NewDatabase(t)}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	for _, name := range []string{"idx_tasks_title_trgm", "idx_tasks_description_trgm"} {
		if !db.Migrator().HasIndex("tasks", name) {
			t.Fatalf("no %s after the migration", name)
		}
	}
	users := []string{"alice", "bob"}
	ids := map[string]map[string]int64{} // user, title: id
	for _, user := range users {
		ids[user] = map[string]int64{}
		for _, tt := range trickyTasks {
			task := models.Task{UserID: user, Title: tt.title}
			if tt.description != "" {
				task.Description = &tt.description
			}
			if err := db.Create(&task).Error; err != nil {
				t.Fatal(err)
			}
			ids[user][tt.title] = task.ID
		}
	}
	// Enough other rows that the planner prefers the trigram indexes.
	if err := db.Exec(`INSERT INTO tasks (user_id, title, description, created_at, updated_at)
		SELECT CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, 'filler ' || g, 'lorem ' || g, now(), now()
		FROM generate_series(1, 6000) AS g`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("ANALYZE tasks").Error; err != nil {
		t.Fatal(err)
	}

	// run returns the ids q finds for user, and the plan, with settings
	// applied for the transaction only. Without bitmap scans no GIN index
	// can be read; without the other scans and with a filter made costly,
	// the planner reads the trigram indexes.
	run := func(t *testing.T, user, q string, settings ...string) ([]int64, string) {
		t.Helper()
		var got []int64
		var plan []string
		err := db.Transaction(func(tx *gorm.DB) error {
			for _, s := range settings {
				if err := tx.Exec("SET LOCAL " + s).Error; err != nil {
					return err
				}
			}
			query := func(tx *gorm.DB) *gorm.DB {
				return tx.Model(&models.Task{}).Scopes(models.OwnedBy(user), models.TaskFilter{Search: q}.Scope).
					Order("tasks.id").Select("tasks.id")
			}
			if err := query(tx).Pluck("id", &got).Error; err != nil {
				return err
			}
			sql := tx.ToSQL(func(tx *gorm.DB) *gorm.DB { return query(tx).Find(&[]int64{}) })
			return tx.Raw("EXPLAIN " + sql).Scan(&plan).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, strings.Join(plan, "\n")
	}
	of := func(user string, titles ...string) []int64 {
		var out []int64
		for _, title := range titles {
			out = append(out, ids[user][title])
		}
		slices.Sort(out)
		return out
	}

	for _, tc := range []struct {
		q    string
		want []string // titles, when the answer does not depend on the server's locale
	}{
		{"%", []string{"100% done", "plain"}},
		{"_", []string{"snake_case name", "plain"}},
		{`\`, []string{`back\slash`}},
		{"!", []string{"excl!mation", "plain"}},
		{"100%", []string{"100% done"}},
		{"e_c", []string{"snake_case name"}},
		{`k\s`, []string{`back\slash`}},
		{"50%_off!", []string{"plain"}},
		{"%_o", []string{"plain"}},
		{"MIXED case", []string{"MiXeD CaSe"}},
		{"mixed", []string{"MiXeD CaSe"}},
		{"zzz", nil},
		{"café", nil},
		{"CAFÉ", nil},
		{"é", nil},
		{"ångström", nil},
		{"ÅNGSTRÖM", nil},
		{"日本", nil},
		{"本語のタ", nil},
		{"a", nil},
		{"ab", nil},
		{"x", nil},
	} {
		for _, user := range users {
			t.Run(tc.q+"/"+user, func(t *testing.T) {
				scanned, scanPlan := run(t, user, tc.q, "enable_bitmapscan = off")
				indexed, indexPlan := run(t, user, tc.q, "enable_seqscan = off", "enable_indexscan = off", "enable_indexonlyscan = off", "cpu_operator_cost = 10")
				if strings.Contains(scanPlan, "trgm") {
					t.Fatalf("the scanned plan uses a trigram index:\n%s", scanPlan)
				}
				if !slices.Equal(scanned, indexed) {
					t.Errorf("indexed %v, scanned %v\nindexed plan:\n%s", indexed, scanned, indexPlan)
				}
				if tc.want != nil && !slices.Equal(scanned, of(user, tc.want...)) {
					t.Errorf("found %v, want %v (%q)", scanned, of(user, tc.want...), tc.want)
				}
				if tc.want == nil && len(scanned) > 0 {
					mine := slices.Collect(func(yield func(int64) bool) {
						for _, id := range ids[user] {
							if !yield(id) {
								return
							}
						}
					})
					for _, id := range scanned {
						if !slices.Contains(mine, id) {
							t.Errorf("found task %d, not one of %s's tricky tasks", id, user)
						}
					}
				}
				if !strings.Contains(indexPlan, "trgm") {
					t.Errorf("the indexed plan uses no trigram index:\n%s", indexPlan)
				}
			})
		}
	}
}

// TestSearchIndexRefused: a role that may not create extensions still
// migrates; the refusal is logged, no trigram index exists, and q= finds
// what it found before, by a scan.
func TestSearchIndexRefused(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	admin, err := openPostgres(dsn, config.DefaultQueryExecMode, false)
	if err != nil {
		t.Fatal(err)
	}
	// The role owns the public schema, so that it migrates its own tables
	// there, but it may not CREATE in the database (nobody may by default),
	// which even a trusted extension like pg_trgm needs.
	const role = "todo_noext"
	for _, stmt := range []string{
		`DO $$ BEGIN CREATE ROLE ` + role + ` LOGIN PASSWORD '` + role + `' NOSUPERUSER NOCREATEDB NOCREATEROLE;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		"ALTER SCHEMA public OWNER TO " + role,
	} {
		if _, err := admin.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	_ = admin.Close()
	parsed, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	parsed.User = url.UserPassword(role, role)
	u := parsed.String()
	var logs bytes.Buffer
	db, err := Open(config.Database{Driver: config.Postgres, DSN: u}, time.Now, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("migrating as %s: %v", role, err)
	}
	t.Cleanup(func() { _ = Close(db) })
	if !strings.Contains(logs.String(), "CREATE EXTENSION pg_trgm was refused") || !strings.Contains(logs.String(), "sqlstate=42501") {
		t.Errorf("no refusal in the log:\n%s", logs.String())
	}
	if db.Migrator().HasIndex("tasks", "idx_tasks_title_trgm") {
		t.Error("a trigram index without pg_trgm")
	}
	for _, user := range []string{"alice", "bob"} {
		for _, title := range []string{"100% done", "snake_case", user + "'s task"} {
			if err := db.Create(&models.Task{UserID: user, Title: title}).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, user := range []string{"alice", "bob"} {
		var titles []string
		if err := NewStore(db).Tasks(t.Context(), user).Scopes(models.TaskFilter{Search: "%"}.Scope).
			Order("id").Pluck("title", &titles).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(titles, []string{"100% done"}) {
			t.Errorf("%s's q=%%: %q", user, titles)
		}
	}
}

// TestSearchIndexOfALargeTable: a migration that finds more tasks than it
// builds indexes for in its own transaction leaves them to
// BuildSearchIndexes, which builds them concurrently, rebuilds one that a
// cancelled build left invalid, and does nothing once they are valid.
func TestSearchIndexOfALargeTable(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	db, err := Open(config.Database{Driver: config.Postgres, DSN: dsn}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	state := func() map[string]string {
		t.Helper()
		var rows []struct {
			Name  string
			Valid bool
		}
		if err := db.Raw(`SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
			WHERE c.relname LIKE '%_trgm'`).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rows {
			out[r.Name] = map[bool]string{true: "valid", false: "invalid"}[r.Valid]
		}
		return out
	}
	for _, ix := range searchIndexes {
		if err := db.Exec("DROP INDEX " + ix.name).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if err := db.Create(&models.Task{UserID: "alice", Title: "task " + strings.Repeat("x", i)}).Error; err != nil {
			t.Fatal(err)
		}
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	if err := db.Transaction(func(tx *gorm.DB) error { return installSearchIndex(tx, log, 10) }); err != nil {
		t.Fatal(err)
	}
	if got := state(); len(got) != 0 || !strings.Contains(logs.String(), "left to a concurrent build") {
		t.Fatalf("20 tasks, at most 10 in place: indexes %v, log %s", got, logs.String())
	}
	cfg := config.Database{Driver: config.Postgres, DSN: dsn}
	BuildSearchIndexes(t.Context(), cfg, log)
	want := map[string]string{"idx_tasks_title_trgm": "valid", "idx_tasks_description_trgm": "valid"}
	if got := state(); !maps.Equal(got, want) {
		t.Fatalf("after the concurrent build: %v\n%s", got, logs.String())
	}

	// What a build cancelled midway leaves: an index marked invalid.
	if err := db.Exec("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_tasks_title_trgm'::regclass").Error; err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	BuildSearchIndexes(t.Context(), cfg, log)
	if got := state(); !maps.Equal(got, want) || strings.Count(logs.String(), `"msg":"search index built"`) != 1 {
		t.Fatalf("after rebuilding the invalid one: %v\n%s", got, logs.String())
	}
	logs.Reset()
	BuildSearchIndexes(t.Context(), cfg, log)
	if logs.Len() != 0 {
		t.Errorf("with both valid, it did something: %s", logs.String())
	}
}
