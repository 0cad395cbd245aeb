package database

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"todo-api/config"
)

// Quotas are counted by the database itself: triggers on tasks and
// idempotency_keys keep each user's row counts in user_usage, in the same
// transaction as the rows, and refuse the statement that takes a count past
// its cap. So no write path can forget the check (a recurring task's next
// occurrence, a cascade, a fixture), and concurrent creates of one user
// cannot overshoot: they queue on the user's usage row (PostgreSQL) or run
// one at a time anyway (SQLite). The caps are written into the trigger code
// at migration; where instances disagree, the last one to start decides.

// QuotaExceeded is the error of a write that would take its user past a
// quota; Limit is the cap the database enforced.
type QuotaExceeded struct {
	Resource string // "tasks" or "idempotency_keys"
	Limit    int
}

func (e *QuotaExceeded) Error() string {
	return fmt.Sprintf("quota exceeded: more than %d %s", e.Limit, e.Resource)
}

// quotaMark starts the message of the triggers' refusal; the resource and
// the cap follow it.
const quotaMark = "todo-api quota: "

// pgQuotaCode is the SQLSTATE the PostgreSQL triggers raise (class QT is
// nobody's, so no other error is taken for it).
const pgQuotaCode = "QT001"

// asQuota turns a trigger's refusal into a *QuotaExceeded and returns any
// other error as it is.
func asQuota(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.Code != pgQuotaCode {
			return err
		}
		msg = pgErr.Message
	}
	i := strings.Index(msg, quotaMark)
	if i < 0 {
		return err
	}
	q := &QuotaExceeded{}
	if _, scanErr := fmt.Sscanf(msg[i+len(quotaMark):], "%s %d", &q.Resource, &q.Limit); scanErr != nil {
		return err
	}
	return q
}

// counted is a table whose rows count against a quota: its column in
// user_usage and its cap.
type counted struct {
	table, column string
	limit         int
}

func countedTables(q config.Quotas) []counted {
	return []counted{
		{"tasks", "tasks", q.Tasks},
		{"idempotency_keys", "idempotency_keys", q.IdempotencyKeys},
	}
}

const usageTable = "user_usage"

// installQuotas creates user_usage and the triggers, with the caps of q,
// inside the migration's transaction. The first time, it counts the rows
// already there; on PostgreSQL after the triggers exist, whose creation
// locks writers out of both tables until the migration commits, so that no
// row is counted twice or missed. A PostgreSQL table that is new to its
// counter (dropped and created again under user_usage) is counted again the
// same way: what user_usage holds is the old table's count.
func installQuotas(tx *gorm.DB, d dialect, q config.Quotas) error {
	fresh := !tx.Migrator().HasTable(usageTable)
	var steps, recounted []string
	if d == postgresDialect {
		// Even IF NOT EXISTS needs rights on the schema, which a serving
		// role that owns nothing lacks: it must find nothing to do.
		if fresh {
			steps = append(steps, `CREATE TABLE user_usage (
				user_id text PRIMARY KEY,
				tasks bigint NOT NULL DEFAULT 0,
				idempotency_keys bigint NOT NULL DEFAULT 0,
				changes_head bigint NOT NULL DEFAULT 0)`)
		}
		for _, c := range countedTables(q) {
			fn, counting, err := pgCounter(c).plan(tx)
			if err != nil {
				return err
			}
			steps = append(steps, fn...)
			if !fresh && !counting {
				recounted = append(recounted, c.table)
				steps = append(steps, c.recount()...)
			}
		}
	} else {
		steps = append(steps, `CREATE TABLE IF NOT EXISTS user_usage (
			user_id TEXT PRIMARY KEY,
			tasks INTEGER NOT NULL DEFAULT 0,
			idempotency_keys INTEGER NOT NULL DEFAULT 0,
			changes_head INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`)
		for _, c := range countedTables(q) {
			steps = append(steps, sqliteTriggers(c)...)
		}
	}
	if fresh {
		steps = append(steps, `INSERT INTO user_usage (user_id, tasks, idempotency_keys)
			SELECT user_id, SUM(t), SUM(k) FROM (
				SELECT user_id, 1 AS t, 0 AS k FROM tasks
				UNION ALL SELECT user_id, 0, 1 FROM idempotency_keys) AS rows
			GROUP BY user_id`)
	}
	run := func() error {
		for _, s := range steps {
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("installing quotas: %w", err)
			}
		}
		return nil
	}
	if len(recounted) > 0 {
		return withoutForcedRLS(tx, recounted, run)
	}
	return run()
}

// recount sets every user's count of c's table to what the table holds.
func (c counted) recount() []string {
	return []string{
		fmt.Sprintf(`INSERT INTO user_usage AS u (user_id, %[1]s) SELECT user_id, count(*) FROM %[2]s GROUP BY user_id
			ON CONFLICT (user_id) DO UPDATE SET %[1]s = EXCLUDED.%[1]s WHERE u.%[1]s <> EXCLUDED.%[1]s`, c.column, c.table),
		fmt.Sprintf(`UPDATE user_usage AS u SET %[1]s = 0 WHERE u.%[1]s <> 0
			AND NOT EXISTS (SELECT 1 FROM %[2]s AS t WHERE t.user_id = u.user_id)`, c.column, c.table),
	}
}

// refusal is the condition and message of the check after an insert.
func (c counted) refusal(count string) (cond, msg string) {
	return fmt.Sprintf("%d > 0 AND %s > %d", c.limit, count, c.limit),
		fmt.Sprintf("%s%s %d", quotaMark, c.column, c.limit)
}

// pgCounter is c's trigger function, with its cap, and its triggers. They
// run per statement over transition tables, so clearing 10,000 completed
// tasks updates one usage row once. SECURITY DEFINER lets them write
// user_usage, which the serving role cannot touch at all.
func pgCounter(c counted) pgTriggered {
	name := "todo_count_" + c.table
	cond, msg := c.refusal("most")
	body := fmt.Sprintf(`
DECLARE most bigint;
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		UPDATE user_usage SET %[1]s = 0 WHERE %[1]s <> 0;
	ELSIF TG_OP = 'INSERT' THEN
		WITH added AS (
			INSERT INTO user_usage AS u (user_id, %[1]s)
			SELECT user_id, count(*) FROM new_rows GROUP BY user_id
			ON CONFLICT (user_id) DO UPDATE SET %[1]s = u.%[1]s + EXCLUDED.%[1]s
			RETURNING u.%[1]s)
		SELECT max(%[1]s) INTO most FROM added;
		IF %[2]s THEN
			RAISE EXCEPTION '%[3]s' USING ERRCODE = '%[4]s';
		END IF;
	ELSE
		UPDATE user_usage AS u SET %[1]s = u.%[1]s - d.n
		FROM (SELECT user_id, count(*) AS n FROM old_rows GROUP BY user_id) AS d
		WHERE u.user_id = d.user_id;
	END IF;
	RETURN NULL;
END`, c.column, cond, msg, pgQuotaCode)
	trigger := func(suffix, create string) pgTrigger {
		return pgTrigger{name + "_" + suffix, fmt.Sprintf(create, name, c.table)}
	}
	return pgTriggered{function: name, body: body, triggers: []pgTrigger{
		trigger("insert", "CREATE OR REPLACE TRIGGER %[1]s_insert AFTER INSERT ON %[2]s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %[1]s()"),
		trigger("delete", "CREATE OR REPLACE TRIGGER %[1]s_delete AFTER DELETE ON %[2]s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %[1]s()"),
		// TRUNCATE (the benchmark's reseed, an operator's reset) fires no
		// delete trigger.
		trigger("truncate", "CREATE OR REPLACE TRIGGER %[1]s_truncate AFTER TRUNCATE ON %[2]s FOR EACH STATEMENT EXECUTE FUNCTION %[1]s()"),
	}}
}

// sqliteTriggers recreates c's row triggers; SQLite has no statement
// triggers, and a usage row update by primary key costs microseconds.
// RAISE(ABORT) undoes the statement, and the failed write's savepoint the
// rest of its work (groupcommit.go).
func sqliteTriggers(c counted) []string {
	name := "todo_count_" + c.table
	cond, msg := c.refusal(c.column)
	return []string{
		"DROP TRIGGER IF EXISTS " + name + "_insert",
		"DROP TRIGGER IF EXISTS " + name + "_delete",
		fmt.Sprintf(`CREATE TRIGGER %[1]s_insert AFTER INSERT ON %[2]s BEGIN
			INSERT INTO user_usage (user_id, %[3]s) VALUES (NEW.user_id, 1)
				ON CONFLICT (user_id) DO UPDATE SET %[3]s = %[3]s + 1;
			SELECT RAISE(ABORT, '%[5]s') FROM user_usage WHERE user_id = NEW.user_id AND %[4]s;
		END`, name, c.table, c.column, cond, msg),
		fmt.Sprintf(`CREATE TRIGGER %[1]s_delete AFTER DELETE ON %[2]s BEGIN
			UPDATE user_usage SET %[3]s = %[3]s - 1 WHERE user_id = OLD.user_id;
		END`, name, c.table, c.column),
	}
}
