package database

import (
	"encoding/json"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// dialect is the one place where SQL differs between PostgreSQL and SQLite.
// Everything else the controllers run is portable SQL: LOWER() ... LIKE with
// ESCAPE, CASE, NULLS LAST (SQLite >= 3.30), ON CONFLICT (SQLite >= 3.24).
type dialect string

const (
	postgresDialect dialect = "postgres"
	sqliteDialect   dialect = "sqlite"
)

func dialectOf(db *gorm.DB) dialect {
	if db.Dialector.Name() == "postgres" {
		return postgresDialect
	}
	return sqliteDialect
}

// HasAllTags is the condition "the task carries every one of tags"; tags
// are normalised like stored ones and there is at least one.
//
// On PostgreSQL it is one jsonb containment test, which the GIN index
// idx_tasks_tags (jsonb_path_ops) serves. SQLite has no such index; it
// checks each tag with json_each on the rows the user scope selected.
func (s *Store) HasAllTags(tags []string) clause.Expression {
	if s.dialect == postgresDialect {
		doc, _ := json.Marshal(tags) // a []string always encodes
		return gorm.Expr("tasks.tags @> CAST(? AS jsonb)", string(doc))
	}
	conds := make([]string, len(tags))
	args := make([]any, len(tags))
	for i, t := range tags {
		conds[i] = "EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE json_each.value = ?)"
		args[i] = t
	}
	return gorm.Expr("("+strings.Join(conds, " AND ")+")", args...)
}

// tagsIndex is created after auto-migration on PostgreSQL only: GORM's
// index tags cannot say USING gin with an operator class, and SQLite has no
// GIN. jsonb_path_ops serves @> and is smaller than the default class.
const tagsIndex = `CREATE INDEX IF NOT EXISTS idx_tasks_tags ON tasks USING gin (tags jsonb_path_ops)`
