package blackbox_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to count what the migrations made

	"todo-api/internal/testpg"
)

// TestConcurrentStartup starts three instances at the same moment against
// one empty database, as a deploy of several machines does: each must
// migrate or find the schema migrated, come up and serve, and the schema
// must exist once. One of them migrates through DATABASE_MIGRATION_URL, a
// direct URL, as on Neon (the others through DATABASE_URL, which in the
// pooled test pass leads through PgBouncer in transaction mode).
func TestConcurrentStartup(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	direct := testpg.DirectURL(t, dsn)
	envs := [][]string{
		{"DATABASE_URL=" + dsn},
		{"DATABASE_URL=" + dsn},
		{"DATABASE_URL=" + dsn, "DATABASE_MIGRATION_URL=" + direct},
	}
	// Started back to back, within milliseconds: their migrations overlap.
	instances := make([]*service, len(envs))
	for i, env := range envs {
		instances[i] = launch(t, spec{env: env})
	}
	for i, in := range instances {
		in.ready()
		user := fmt.Sprintf("user-%d", i)
		r := in.do("POST", "/api/"+user+"/tasks", token(t, user), titleBody("from instance "+fmt.Sprint(i)))
		if r.err != nil || r.status != http.StatusCreated {
			t.Errorf("instance %d create: %v %+v", i, r.err, r)
		}
		if !strings.Contains(in.out.String(), `"msg":"database migrated"`) {
			t.Errorf("instance %d did not log its migration", i)
		}
	}
	if !strings.Contains(instances[2].out.String(), `"via_migration_url":true`) {
		t.Error("instance 2 did not migrate through DATABASE_MIGRATION_URL")
	}

	db, err := sql.Open("pgx", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables, indexes, rows int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE tablename = 'tasks'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM pg_indexes WHERE tablename = 'tasks'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM tasks`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if tables != 1 || rows != len(envs) {
		t.Errorf("%d tasks tables, %d rows; want 1 and %d", tables, rows, len(envs))
	}
	if indexes < 2 {
		t.Errorf("%d indexes on tasks, want the primary key and the user index", indexes)
	}
}
