package database

import (
	"fmt"

	"gorm.io/gorm"
)

// The change feed's positions are assigned by the database, in the writing
// transaction: a trigger takes the next number of the user's counter
// (user_usage.changes_head) for every task row written, and a delete
// writes a tombstone at its own number. The counter row is written by
// every change of its user, so the user's write transactions take their
// positions one after another and commit in that order: a reader that has
// seen position n has seen every position below it, and one that commits
// later gets a higher one. On PostgreSQL, where several connections (and
// instances) write at once, Store.Write also takes a per-user advisory lock
// first (userLockSQL in rls.go), so that two transactions of one user never
// hold task rows the other one waits for while both wait on the counter.
// SQLite runs one write transaction at a time anyway.

// installFeed adds the position column and index, the tombstones' triggers
// and, the first time, positions for the tasks already there (in id order,
// per user), inside the migration's transaction and after installQuotas,
// which creates user_usage. Each step runs only when needed, so that a
// serving role that owns nothing starts without DDL.
func installFeed(tx *gorm.DB, d dialect) error {
	m := tx.Migrator()
	var steps []string
	if !m.HasColumn(usageTable, "changes_head") {
		steps = append(steps, "ALTER TABLE user_usage ADD COLUMN changes_head bigint NOT NULL DEFAULT 0")
	}
	if !m.HasColumn("tasks", "change_seq") {
		steps = append(steps,
			"ALTER TABLE tasks ADD COLUMN change_seq bigint",
			`UPDATE tasks SET change_seq = r.n FROM (
				SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n FROM tasks) AS r
			WHERE tasks.id = r.id`,
			`UPDATE user_usage SET changes_head = m.n FROM (
				SELECT user_id, MAX(change_seq) AS n FROM tasks GROUP BY user_id) AS m
			WHERE user_usage.user_id = m.user_id`)
	}
	if !m.HasIndex("tasks", "idx_tasks_user_change") {
		steps = append(steps, "CREATE INDEX idx_tasks_user_change ON tasks (user_id, change_seq)")
	}
	if d == postgresDialect {
		fn, err := pgFeedFunction(tx)
		if err != nil {
			return err
		}
		steps = append(steps, fn...)
	} else {
		steps = append(steps, sqliteFeedTriggers...)
	}
	for _, s := range steps {
		if err := tx.Exec(s).Error; err != nil {
			return fmt.Errorf("installing the change feed: %w", err)
		}
	}
	return nil
}

// pgFeedBody is the trigger function: BEFORE INSERT OR UPDATE it stamps the
// row with the next position, AFTER DELETE it leaves the tombstone. It runs
// as the tables' owner (SECURITY DEFINER): the serving role may not write
// user_usage at all.
const pgFeedBody = `
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

// pgFeedFunction returns the statements that (re)create the trigger
// function and its triggers, or none when they are in place.
func pgFeedFunction(tx *gorm.DB) ([]string, error) {
	current, err := pgFunctionSource(tx, "todo_feed_task")
	if err != nil || current == pgFeedBody {
		return nil, err
	}
	return []string{
		pgTriggerFunction("todo_feed_task", pgFeedBody),
		"CREATE OR REPLACE TRIGGER todo_feed_task_write BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION todo_feed_task()",
		"CREATE OR REPLACE TRIGGER todo_feed_task_delete AFTER DELETE ON tasks FOR EACH ROW EXECUTE FUNCTION todo_feed_task()",
	}, nil
}

// sqliteFeedTriggers stamp positions after the fact, since SQLite triggers
// cannot change NEW: the stamp is an UPDATE of the row, which the update
// trigger's WHEN tells from a change (only a change leaves change_seq as
// it was).
var sqliteFeedTriggers = []string{
	"DROP TRIGGER IF EXISTS todo_feed_task_insert",
	"DROP TRIGGER IF EXISTS todo_feed_task_update",
	"DROP TRIGGER IF EXISTS todo_feed_task_delete",
	`CREATE TRIGGER todo_feed_task_insert AFTER INSERT ON tasks BEGIN
		INSERT INTO user_usage (user_id, changes_head) VALUES (NEW.user_id, 1)
			ON CONFLICT (user_id) DO UPDATE SET changes_head = changes_head + 1;
		UPDATE tasks SET change_seq = (SELECT changes_head FROM user_usage WHERE user_id = NEW.user_id) WHERE id = NEW.id;
	END`,
	`CREATE TRIGGER todo_feed_task_update AFTER UPDATE ON tasks WHEN NEW.change_seq IS OLD.change_seq BEGIN
		INSERT INTO user_usage (user_id, changes_head) VALUES (NEW.user_id, 1)
			ON CONFLICT (user_id) DO UPDATE SET changes_head = changes_head + 1;
		UPDATE tasks SET change_seq = (SELECT changes_head FROM user_usage WHERE user_id = NEW.user_id) WHERE id = NEW.id;
	END`,
	`CREATE TRIGGER todo_feed_task_delete AFTER DELETE ON tasks BEGIN
		INSERT INTO user_usage (user_id, changes_head) VALUES (OLD.user_id, 1)
			ON CONFLICT (user_id) DO UPDATE SET changes_head = changes_head + 1;
		INSERT INTO task_tombstones (user_id, seq, task_id, deleted_at)
			SELECT OLD.user_id, changes_head, OLD.id, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now') FROM user_usage WHERE user_id = OLD.user_id;
	END`,
}
