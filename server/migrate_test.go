package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/testpg"
)

// benchSchema is the benchmark's contract table, read from bench/schema.sql
// (the file bench/run.sh creates it from), with two rows: it exists with
// rows before the service first starts.
func benchSchema(t *testing.T) string {
	t.Helper()
	table, err := os.ReadFile(filepath.Join("..", "bench", "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(table) + `
INSERT INTO tasks (user_id, title, completed, created_at, updated_at)
VALUES ('alice', 'seeded', true, now(), now()), ('bob', 'seeded too', false, now(), now());
`
}

func rawPostgres(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	return db
}

// TestMigrateBenchmarkTable starts the service on the benchmark's table:
// the new columns are added with defaults to the existing rows, and the
// existing index is kept as it was.
func TestMigrateBenchmarkTable(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	raw := rawPostgres(t, dsn)
	if err := raw.Exec(benchSchema(t)).Error; err != nil {
		t.Fatal(err)
	}
	indexDef := func(name string) string {
		var def string
		raw.Raw("SELECT indexdef FROM pg_indexes WHERE tablename = 'tasks' AND indexname = ?", name).Scan(&def)
		return def
	}
	created := indexDef("idx_tasks_user_created")

	e := newEnv(t, config.Postgres, func(c *config.Config) { c.Database.DSN = dsn })
	var got []task
	e.call("GET", "/api/alice/tasks", e.token("alice"), nil).decode(t, &got)
	if len(got) != 1 || got[0].Title != "seeded" || got[0].Version != 1 || !reflect.DeepEqual(got[0].Tags, []string{}) ||
		got[0].Priority != "medium" || got[0].NextTaskID != nil || got[0].Recurrence != nil || !got[0].Completed {
		t.Errorf("seeded row reads as %+v", got)
	}
	if r := e.call("PATCH", "/api/bob/tasks/2", e.token("bob"), map[string]any{"tags": []string{"x"}}); r.status != 200 || r.task(t).Version != 2 {
		t.Errorf("seeded row cannot be updated: %d %s", r.status, r.body)
	}
	if after := indexDef("idx_tasks_user_created"); after != created {
		t.Errorf("idx_tasks_user_created changed from %q to %q", created, after)
	}
	for _, name := range []string{"idx_tasks_tags", "idx_tasks_user_due"} {
		if indexDef(name) == "" {
			t.Errorf("index %s missing", name)
		}
	}
}

// TestConcurrentStarts migrates one empty database from several instances
// at once, as a deploy that starts several machines does.
func TestConcurrentStarts(t *testing.T) {
	startConcurrently(t, testpg.NewDatabase(t), 6)
}

// startConcurrently opens and closes the PostgreSQL database dsn from n
// instances at once, as a deploy that starts several machines does, and
// fails the test for each instance that could not start.
func startConcurrently(t *testing.T, dsn string, n int) {
	t.Helper()
	cfg := config.Database{Driver: config.Postgres, DSN: dsn}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := database.Open(cfg, time.Now, log)
			if err == nil {
				err = database.Close(db)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}

// TestMigrateRecreatedTasks starts the service again after tasks was
// dropped and created anew under the service's other tables (a restore of
// one table, the benchmark's reseed): the new table gets its triggers
// although their functions are in place, so its writes are counted against
// the quota and fed to the change feed, and the counts start from its rows.
func TestMigrateRecreatedTasks(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	raw := rawPostgres(t, dsn)
	triggers := func() []string {
		var names []string
		raw.Raw(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks'::regclass AND NOT tgisinternal ORDER BY tgname`).Scan(&names)
		return names
	}
	useDSN := func(c *config.Config) { c.Database.DSN = dsn }

	before := newEnv(t, config.Postgres, useDSN)
	for _, title := range []string{"one", "two"} {
		if r := before.call("POST", "/api/alice/tasks", before.token("alice"), map[string]any{"title": title}); r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	want := triggers()
	if len(want) == 0 {
		t.Fatal("the first start made no triggers on tasks")
	}
	// The contract's table without the rest of bench/schema.sql, which
	// drops the service's tables too; one row of alice's.
	contract := benchSchema(t)
	contract = "DROP TABLE idempotency_keys; DROP TABLE tasks;\n" + contract[strings.Index(contract, "CREATE TABLE tasks"):]
	if err := raw.Exec(contract).Error; err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, config.Postgres, useDSN, quotas(3, 0))
	if got := triggers(); !reflect.DeepEqual(got, want) {
		t.Errorf("triggers on the new tasks: %v, want %v", got, want)
	}
	alice := e.token("alice")
	for _, title := range []string{"three", "four"} {
		if r := e.call("POST", "/api/alice/tasks", alice, map[string]any{"title": title}); r.status != 201 {
			t.Errorf("create %q under a cap of 3 with 1 task: %d %s", title, r.status, r.body)
		}
	}
	refusedByQuota(t, e.call("POST", "/api/alice/tasks", alice, map[string]any{"title": "five"}), "3 tasks")

	var p feedPage
	e.call("GET", "/api/alice/tasks/changes", alice, nil).decode(t, &p)
	var titles []string
	for _, c := range p.Changes {
		if c.Task != nil {
			titles = append(titles, c.Task.Title)
		}
	}
	if !reflect.DeepEqual(titles, []string{"seeded", "three", "four"}) {
		t.Errorf("the feed replays %q, want the seeded row and the two creates", titles)
	}
}
