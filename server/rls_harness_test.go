package server_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/testpg"
	"todo-api/models"
)

// rlsMode is TEST_ROW_LEVEL_SECURITY=on: every test's PostgreSQL database is
// then set up as in production with DB_ROW_LEVEL_SECURITY=on, and the app
// connects as a role that row-level security binds, so the whole suite
// shows that the policies never get in the way of a correct request.
// .ci/run runs the suite once more this way (PostgreSQL only: eachDB skips
// its SQLite half).
func rlsMode() bool { return os.Getenv("TEST_ROW_LEVEL_SECURITY") == "on" }

// setUpRowLevelSecurity, in RLS mode on PostgreSQL, migrates cfg's database
// as its owner with row-level security on, then points cfg at the same
// database as testpg.AppRole. It returns what turns the app's database
// handle into the tests' e.db: the same callbacks (so tests that count the
// app's statements still can), but the owner's connections, which a
// superuser's row-level security never hides anything from. Otherwise it
// changes nothing and returns the handle as it is.
func setUpRowLevelSecurity(t *testing.T, cfg *config.Config, now models.Clock, log *slog.Logger) func(*gorm.DB) *gorm.DB {
	t.Helper()
	if !rlsMode() || cfg.Database.Driver != config.Postgres {
		return func(db *gorm.DB) *gorm.DB { return db }
	}
	cfg.Database.RowLevelSecurity = true
	owner, err := database.Open(cfg.Database, now, log)
	if err != nil {
		t.Fatalf("migrating as the owner: %v", err)
	}
	t.Cleanup(func() { _ = database.Close(owner) })
	cfg.Database.DSN = testpg.AppRoleURL(t, cfg.Database.DSN)
	ownerPool, err := owner.DB()
	if err != nil {
		t.Fatal(err)
	}
	return func(app *gorm.DB) *gorm.DB {
		// A Session with a Context copies the statement: without one, the
		// ConnPool set below would be the app's own handle's too, and the
		// app would run as the owner, whom row-level security never binds.
		inspect := app.Session(&gorm.Session{NewDB: true, Context: context.Background()})
		inspect.Statement.ConnPool = ownerPool
		return inspect
	}
}

// TestRowLevelSecurityModeIsOn keeps RLS mode honest: the tables have
// forced row-level security and the app really is connected as the role
// it binds.
func TestRowLevelSecurityModeIsOn(t *testing.T) {
	if !rlsMode() {
		t.Skip("only with TEST_ROW_LEVEL_SECURITY=on")
	}
	e := newEnv(t, config.Postgres)
	e.create("alice", map[string]any{"title": "x"})
	var forced, enabled bool
	if err := e.db.Raw("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'tasks'").Row().Scan(&enabled, &forced); err != nil || !enabled || !forced {
		t.Fatalf("tasks: enabled=%v forced=%v %v", enabled, forced, err)
	}
	var n int64
	if err := e.db.Raw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = ?", testpg.AppRole).Scan(&n).Error; err != nil || n == 0 {
		t.Fatalf("no connection of %s to the database (%v)", testpg.AppRole, err)
	}
}
