package database

import (
	"fmt"

	"gorm.io/gorm"
)

// The change feed's positions are assigned by the database, in the writing
// transaction: a trigger takes the next number of the user's counter
// (user_usage.changes_head) for every task or list row written, and a
// delete writes a tombstone at its own number. The counter row is written by
// every change of its user, so the user's write transactions take their
// positions one after another and commit in that order: a reader that has
// seen position n has seen every position below it, and one that commits
// later gets a higher one. On PostgreSQL, where several connections (and
// instances) write at once, Store.Write also takes a per-user advisory lock
// first (userLockSQL in rls.go), so that two transactions of one user never
// hold task rows the other one waits for while both wait on the counter.
// SQLite runs one write transaction at a time anyway.
//
// Tombstones are purged after CHANGES_RETENTION (retention.go). Whatever
// deletes them, a trigger raises the user's floor (user_usage.changes_floor)
// to the highest position deleted, in the same statement: a cursor below the
// floor may have missed a delete, and is answered 410.

// feedTables are the tables whose rows have positions, with the kind their
// tombstones carry.
var feedTables = []struct{ table, kind string }{{"tasks", "task"}, {"lists", "list"}}

// installFeed adds the position columns and indexes, the floor, the
// triggers and, the first time, positions for the rows already there (in
// id order, per user, after the user's current head), inside the
// migration's transaction and after installQuotas, which creates
// user_usage. Each step runs only when needed, so that a serving role that
// owns nothing starts without DDL.
func installFeed(tx *gorm.DB, d dialect) error {
	m := tx.Migrator()
	var steps []string
	if !m.HasColumn(usageTable, "changes_head") {
		steps = append(steps, "ALTER TABLE user_usage ADD COLUMN changes_head bigint NOT NULL DEFAULT 0")
	}
	if !m.HasColumn(usageTable, "changes_floor") {
		steps = append(steps, "ALTER TABLE user_usage ADD COLUMN changes_floor bigint NOT NULL DEFAULT 0")
	}
	var numbered []string
	for _, ft := range feedTables {
		if !m.HasColumn(ft.table, "change_seq") {
			numbered = append(numbered, ft.table)
			steps = append(steps, "ALTER TABLE "+ft.table+" ADD COLUMN change_seq bigint")
			steps = append(steps, numberRows(ft.table)...)
		}
		if idx := "idx_" + ft.table + "_user_change"; !m.HasIndex(ft.table, idx) {
			steps = append(steps, "CREATE INDEX "+idx+" ON "+ft.table+" (user_id, change_seq)")
		}
	}
	if d == postgresDialect {
		fn, err := pgFeedFunctions(tx)
		if err != nil {
			return err
		}
		steps = append(steps, fn...)
	} else {
		steps = append(steps, sqliteFeedTriggers()...)
	}
	run := func() error {
		for _, s := range steps {
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("installing the change feed: %w", err)
			}
		}
		return nil
	}
	if d == postgresDialect {
		return withoutForcedRLS(tx, numbered, run)
	}
	return run()
}

// numberRows gives the rows of table, which has just got its change_seq
// column, positions after their user's head, and moves the head past them.
// Users with lists but no usage row yet get one first.
func numberRows(table string) []string {
	return []string{
		"INSERT INTO user_usage (user_id) SELECT DISTINCT user_id FROM " + table + " WHERE true ON CONFLICT (user_id) DO NOTHING",
		`UPDATE ` + table + ` SET change_seq = r.n FROM (
			SELECT t.id, u.changes_head + row_number() OVER (PARTITION BY t.user_id ORDER BY t.id) AS n
			FROM ` + table + ` AS t JOIN user_usage AS u ON u.user_id = t.user_id) AS r
		WHERE ` + table + `.id = r.id`,
		`UPDATE user_usage SET changes_head = changes_head + c.n FROM (
			SELECT user_id, COUNT(*) AS n FROM ` + table + ` GROUP BY user_id) AS c
		WHERE user_usage.user_id = c.user_id`,
	}
}

// withoutForcedRLS runs fn with forced row-level security lifted from
// tables for the migration's transaction: it binds the owner too, and the
// migration has no user, so numbering the rows would find none.
func withoutForcedRLS(tx *gorm.DB, tables []string, fn func() error) error {
	var forced []string
	for _, table := range tables {
		var f bool
		if err := tx.Raw("SELECT relforcerowsecurity FROM pg_class WHERE oid = CAST(? AS regclass)", table).Scan(&f).Error; err != nil {
			return err
		}
		if f {
			if err := tx.Exec("ALTER TABLE " + table + " NO FORCE ROW LEVEL SECURITY").Error; err != nil {
				return err
			}
			forced = append(forced, table)
		}
	}
	if err := fn(); err != nil {
		return err
	}
	for _, table := range forced {
		if err := tx.Exec("ALTER TABLE " + table + " FORCE ROW LEVEL SECURITY").Error; err != nil {
			return err
		}
	}
	return nil
}

// pgFeedBody is the trigger function of tasks and lists: BEFORE INSERT OR
// UPDATE it stamps the row with the next position, AFTER DELETE it leaves
// the tombstone, of the kind its table says. It runs as the tables' owner
// (SECURITY DEFINER): the serving role may not write user_usage at all.
const pgFeedBody = `
DECLARE pos bigint;
BEGIN
	INSERT INTO user_usage AS u (user_id, changes_head)
	VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END, 1)
	ON CONFLICT (user_id) DO UPDATE SET changes_head = u.changes_head + 1
	RETURNING u.changes_head INTO pos;
	IF TG_OP = 'DELETE' THEN
		INSERT INTO task_tombstones (user_id, seq, task_id, kind, deleted_at)
		VALUES (OLD.user_id, pos, OLD.id, CASE TG_TABLE_NAME WHEN 'lists' THEN 'list' ELSE 'task' END, now());
		RETURN OLD;
	END IF;
	NEW.change_seq := pos;
	RETURN NEW;
END`

// pgFloorBody raises the floor of every user whose tombstones a statement
// deleted, once per statement (the janitor deletes thousands at a time); a
// TRUNCATE loses every user's tombstones, so every floor goes to its head.
const pgFloorBody = `
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		UPDATE user_usage SET changes_floor = changes_head WHERE changes_floor < changes_head;
	ELSE
		UPDATE user_usage AS u SET changes_floor = d.top
		FROM (SELECT user_id, max(seq) AS top FROM old_rows GROUP BY user_id) AS d
		WHERE u.user_id = d.user_id AND u.changes_floor < d.top;
	END IF;
	RETURN NULL;
END`

// pgFeedFunctions returns the statements that (re)create the trigger
// functions and their triggers, or none when they are in place.
func pgFeedFunctions(tx *gorm.DB) ([]string, error) {
	feed := pgTriggered{function: "todo_feed_task", body: pgFeedBody}
	for _, ft := range feedTables {
		write, del := "todo_feed_"+ft.kind+"_write", "todo_feed_"+ft.kind+"_delete"
		feed.triggers = append(feed.triggers,
			pgTrigger{write, "CREATE OR REPLACE TRIGGER " + write + " BEFORE INSERT OR UPDATE ON " + ft.table + " FOR EACH ROW EXECUTE FUNCTION todo_feed_task()"},
			pgTrigger{del, "CREATE OR REPLACE TRIGGER " + del + " AFTER DELETE ON " + ft.table + " FOR EACH ROW EXECUTE FUNCTION todo_feed_task()"})
	}
	floor := pgTriggered{function: "todo_feed_floor", body: pgFloorBody, triggers: []pgTrigger{
		{"todo_feed_floor_delete", "CREATE OR REPLACE TRIGGER todo_feed_floor_delete AFTER DELETE ON task_tombstones REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION todo_feed_floor()"},
		{"todo_feed_floor_truncate", "CREATE OR REPLACE TRIGGER todo_feed_floor_truncate AFTER TRUNCATE ON task_tombstones FOR EACH STATEMENT EXECUTE FUNCTION todo_feed_floor()"},
	}}
	var steps []string
	for _, f := range []pgTriggered{feed, floor} {
		s, err := f.steps(tx)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s...)
	}
	return steps, nil
}

// sqliteFeedTriggers stamp positions after the fact, since SQLite triggers
// cannot change NEW: the stamp is an UPDATE of the row, which the update
// trigger's WHEN tells from a change (only a change leaves change_seq as
// it was).
func sqliteFeedTriggers() []string {
	var out []string
	for _, ft := range feedTables {
		name := "todo_feed_" + ft.table
		if ft.table == "tasks" {
			name = "todo_feed_task" // the name the first release gave them
		}
		next := func(row string) string {
			return "INSERT INTO user_usage (user_id, changes_head) VALUES (" + row + ".user_id, 1)\n" +
				"\t\t\tON CONFLICT (user_id) DO UPDATE SET changes_head = changes_head + 1;"
		}
		stamp := next("NEW") + "\n\t\tUPDATE " + ft.table +
			" SET change_seq = (SELECT changes_head FROM user_usage WHERE user_id = NEW.user_id) WHERE id = NEW.id;"
		out = append(out,
			"DROP TRIGGER IF EXISTS "+name+"_insert",
			"DROP TRIGGER IF EXISTS "+name+"_update",
			"DROP TRIGGER IF EXISTS "+name+"_delete",
			"CREATE TRIGGER "+name+"_insert AFTER INSERT ON "+ft.table+" BEGIN\n\t\t"+stamp+"\n\tEND",
			"CREATE TRIGGER "+name+"_update AFTER UPDATE ON "+ft.table+" WHEN NEW.change_seq IS OLD.change_seq BEGIN\n\t\t"+stamp+"\n\tEND",
			"CREATE TRIGGER "+name+"_delete AFTER DELETE ON "+ft.table+" BEGIN\n\t\t"+next("OLD")+`
		INSERT INTO task_tombstones (user_id, seq, task_id, kind, deleted_at)
			SELECT OLD.user_id, changes_head, OLD.id, '`+ft.kind+`', strftime('%Y-%m-%d %H:%M:%f+00:00', 'now') FROM user_usage WHERE user_id = OLD.user_id;
	END`)
	}
	return append(out,
		"DROP TRIGGER IF EXISTS todo_feed_floor",
		`CREATE TRIGGER todo_feed_floor AFTER DELETE ON task_tombstones BEGIN
		UPDATE user_usage SET changes_floor = OLD.seq WHERE user_id = OLD.user_id AND changes_floor < OLD.seq;
	END`)
}
