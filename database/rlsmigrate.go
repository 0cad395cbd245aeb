package database

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/models"
)

// rlsPolicies are the row-level security policies, by table. Each admits
// the rows of the user in app.user_id (see rls.go) for every command, and
// WITH CHECK keeps a write from creating or moving a row to another user.
// The idempotency janitor deletes other users' expired records; it sets
// app.purge_expired instead of a user, which admits expired records only,
// so a forgotten scope still reads no one's stored responses.
var rlsPolicies = map[string]string{
	"tasks": `CREATE POLICY todo_owner ON tasks
		USING (user_id = current_setting('app.user_id', true))
		WITH CHECK (user_id = current_setting('app.user_id', true))`,
	"lists": `CREATE POLICY todo_owner ON lists
		USING (user_id = current_setting('app.user_id', true))
		WITH CHECK (user_id = current_setting('app.user_id', true))`,
	"task_tombstones": `CREATE POLICY todo_owner ON task_tombstones
		USING (user_id = current_setting('app.user_id', true))
		WITH CHECK (user_id = current_setting('app.user_id', true))`,
	"idempotency_keys": fmt.Sprintf(`CREATE POLICY todo_owner ON idempotency_keys
		USING (user_id = current_setting('app.user_id', true)
			OR (current_setting('app.purge_expired', true) = 'on' AND created_at < now() - interval '%d seconds'))
		WITH CHECK (user_id = current_setting('app.user_id', true))`, int(models.IdempotencyTTL.Seconds())),
}

// rlsPurgePolicies admit the tombstone janitor (PurgeTombstones), which
// sets app.purge_expired as the idempotency janitor does, to every user's
// tombstones older than config.MinChangesRetention, for reading and
// deleting only (WITH CHECK (false) adds no right to write). A policy of
// its own rather than a clause of todo_owner, so that a database set up
// before it gets it added (tableRowLevelSecurity creates missing ones).
var rlsPurgePolicies = map[string]string{
	"task_tombstones": fmt.Sprintf(`CREATE POLICY todo_purge ON task_tombstones
		USING (current_setting('app.purge_expired', true) = 'on' AND deleted_at < now() - interval '%d seconds')
		WITH CHECK (false)`, int(config.MinChangesRetention.Seconds())),
}

// rowLevelSecurity makes the tables match DB_ROW_LEVEL_SECURITY, after the
// migration, under the same advisory lock. On: ENABLE and FORCE row-level
// security (FORCE makes it bind the table owner too) and create the
// policies that are missing. Each step runs only when needed, so a serving
// role that does not own the tables starts fine once the owner has set
// them up (see the README). Off: refuse to start if row-level security is
// still active for this role, since every query would then find nothing.
func rowLevelSecurity(ctx context.Context, db *gorm.DB, on bool) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
			return err
		}
		for _, table := range []string{"tasks", "lists", "idempotency_keys", "task_tombstones"} {
			if err := tableRowLevelSecurity(tx, table, on); err != nil {
				return fmt.Errorf("row-level security on %s: %w", table, err)
			}
		}
		return nil
	})
}

func tableRowLevelSecurity(tx *gorm.DB, table string, on bool) error {
	if !on {
		var active bool
		if err := tx.Raw("SELECT row_security_active(CAST(? AS regclass))", table).Scan(&active).Error; err != nil {
			return err
		}
		if active {
			return fmt.Errorf("DB_ROW_LEVEL_SECURITY is off, but the table has row-level security that binds this database role, "+
				"so every query would find nothing: set DB_ROW_LEVEL_SECURITY=on, or, as the table owner, "+
				"run ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY", table)
		}
		return nil
	}
	var state struct{ Enabled, Forced bool }
	err := tx.Raw(`SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced
		FROM pg_class WHERE oid = CAST(? AS regclass)`, table).Scan(&state).Error
	if err != nil {
		return err
	}
	var policies []string
	err = tx.Raw("SELECT policyname FROM pg_policies WHERE schemaname = current_schema() AND tablename = ?", table).
		Scan(&policies).Error
	if err != nil {
		return err
	}
	var steps []string
	if !state.Enabled {
		steps = append(steps, "ALTER TABLE "+table+" ENABLE ROW LEVEL SECURITY")
	}
	if !state.Forced {
		steps = append(steps, "ALTER TABLE "+table+" FORCE ROW LEVEL SECURITY")
	}
	if !slices.Contains(policies, "todo_owner") {
		steps = append(steps, rlsPolicies[table])
	}
	if p, ok := rlsPurgePolicies[table]; ok && !slices.Contains(policies, "todo_purge") {
		steps = append(steps, p)
	}
	if table == "tasks" && !slices.Contains(policies, "todo_reminder_scan") {
		steps = append(steps, reminderScanPolicy)
	}
	for _, s := range steps {
		if err := tx.Exec(s).Error; err != nil {
			return fmt.Errorf("%w (setting up row-level security needs the table owner: start once with the owner's DATABASE_URL)", err)
		}
	}
	return nil
}
