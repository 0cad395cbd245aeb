package database

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gorm.io/gorm"

	"todo-api/internal/orderkey"
)

// The composite foreign keys that make isolation a property of the schema:
// a task's (user_id, list_id) must be a list of the same user, and its
// (user_id, parent_id) a task of the same user, so no code path, however
// buggy, can file a task into another user's list or under another user's
// task. A list that still holds tasks cannot be deleted (NO ACTION); a
// deleted parent takes its subtasks with it (CASCADE). A null list_id or
// parent_id is not checked (MATCH SIMPLE): the inbox, the top level.
//
// GORM's relationship tags could declare them, but its PostgreSQL migrator
// creates a new table's unique indexes after the CREATE TABLE, so the
// self-reference of a fresh tasks table would find no unique (user_id, id)
// to reference; this file owns the DDL instead.
const (
	fkTasksList   = "fk_tasks_list"
	fkTasksParent = "fk_tasks_parent"
)

var taskForeignKeys = []struct{ name, def string }{
	{fkTasksList, "FOREIGN KEY (user_id, list_id) REFERENCES lists (user_id, id)"},
	{fkTasksParent, "FOREIGN KEY (user_id, parent_id) REFERENCES tasks (user_id, id) ON DELETE CASCADE"},
}

// rankUnordered gives every task without an order key (rows made before
// manual order existed) a Ranked key, per user in the order lists showed
// them until then: newest first (created_at DESC, id DESC). Tasks made
// since go first (orderkey.ForTime), before every Ranked key.
func rankUnordered(tx *gorm.DB, postgres bool) error {
	key := orderkey.RankedSQL(postgres, "row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC)")
	return tx.Exec(`UPDATE tasks SET position = ranked.key
		FROM (SELECT id, ` + key + ` AS key FROM tasks WHERE position = '') AS ranked
		WHERE tasks.id = ranked.id`).Error
}

// upgradePostgres runs inside migrate's transaction, under its advisory
// lock, after AutoMigrate has added list_id, parent_id and position. A
// tasks table without the foreign keys was made before lists existed (or
// just now, empty): its tasks are ranked and the keys added, all in the
// migration's one transaction, so instances that start together upgrade
// it once, and one that dies midway leaves the old schema intact.
func upgradePostgres(tx *gorm.DB) error {
	var have []string
	err := tx.Raw(`SELECT conname FROM pg_constraint WHERE conrelid = CAST('tasks' AS regclass) AND conname IN (?, ?)`,
		fkTasksList, fkTasksParent).Scan(&have).Error
	if err != nil {
		return err
	}
	if len(have) == len(taskForeignKeys) {
		// A serving role that owns nothing must find nothing to do.
		return nil
	}
	var forced bool
	if err := tx.Raw("SELECT relforcerowsecurity FROM pg_class WHERE oid = CAST('tasks' AS regclass)").Scan(&forced).Error; err != nil {
		return err
	}
	if forced {
		// Forced row-level security binds the owner too, and the
		// migration has no user: every row would be hidden from the
		// ranking. Lifted for this transaction only.
		if err := tx.Exec("ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY").Error; err != nil {
			return err
		}
	}
	if err := rankUnordered(tx, true); err != nil {
		return fmt.Errorf("ranking tasks: %w", err)
	}
	for _, fk := range taskForeignKeys {
		if contains(have, fk.name) {
			continue
		}
		if err := tx.Exec("ALTER TABLE tasks ADD CONSTRAINT " + fk.name + " " + fk.def).Error; err != nil {
			return fmt.Errorf("adding %s: %w", fk.name, err)
		}
	}
	if forced {
		return tx.Exec("ALTER TABLE tasks FORCE ROW LEVEL SECURITY").Error
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var createTasks = regexp.MustCompile("(?is)^\\s*CREATE\\s+TABLE\\s+(`tasks`|\"tasks\"|tasks)\\s*\\((.*)\\)\\s*$")

// upgradeSQLite adds the foreign keys to a SQLite tasks table that lacks
// them. SQLite cannot add a constraint to a table, so the table is rebuilt
// the way its documentation prescribes (ALTER TABLE, "making other kinds of
// table schema changes"): foreign keys off on a connection held throughout,
// one transaction that ranks the tasks, creates the new table with the
// same columns and the constraints, copies the rows, drops the old table,
// renames the new one and re-creates the indexes, then a foreign key check
// before COMMIT. A crash anywhere leaves the old table as it was, and the
// next start does it again.
func upgradeSQLite(db *gorm.DB) error {
	var ddl string
	if err := db.Raw("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'").Row().Scan(&ddl); err != nil {
		return err
	}
	if strings.Contains(ddl, fkTasksList) && strings.Contains(ddl, fkTasksParent) {
		return nil
	}
	m := createTasks.FindStringSubmatch(ddl)
	if m == nil {
		return errors.New("upgrading tasks: unexpected table definition")
	}
	body := m[2]
	for _, fk := range taskForeignKeys {
		body += ",CONSTRAINT " + fk.name + " " + fk.def
	}
	return db.Connection(func(conn *gorm.DB) (err error) {
		if err := conn.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return err
		}
		defer func() {
			if e := conn.Exec("PRAGMA foreign_keys = ON").Error; err == nil {
				err = e
			}
		}()
		return conn.Transaction(func(tx *gorm.DB) error {
			var indexes []string
			if err := tx.Raw("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL").
				Scan(&indexes).Error; err != nil {
				return err
			}
			var seq sql.NullInt64
			// sqlite_sequence exists once an AUTOINCREMENT table has had a row.
			_ = tx.Raw("SELECT seq FROM sqlite_sequence WHERE name = 'tasks'").Row().Scan(&seq)
			steps := []string{
				"CREATE TABLE tasks__upgrade (" + body + ")",
				"INSERT INTO tasks__upgrade SELECT * FROM tasks",
				"DROP TABLE tasks",
				"ALTER TABLE tasks__upgrade RENAME TO tasks",
			}
			if err := rankUnordered(tx, false); err != nil {
				return fmt.Errorf("ranking tasks: %w", err)
			}
			for _, s := range append(steps, indexes...) {
				if err := tx.Exec(s).Error; err != nil {
					return fmt.Errorf("upgrading tasks: %w", err)
				}
			}
			if seq.Valid {
				// Ids of deleted tasks are not handed out again.
				if err := tx.Exec("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'tasks'", seq.Int64).Error; err != nil {
					return err
				}
			}
			rows, err := tx.Raw("PRAGMA foreign_key_check(tasks)").Rows()
			if err != nil {
				return err
			}
			defer rows.Close()
			if rows.Next() {
				return errors.New("upgrading tasks: rows break the new foreign keys")
			}
			return rows.Err()
		})
	})
}
