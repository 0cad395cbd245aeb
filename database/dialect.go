package database

import "gorm.io/gorm"

// dialect names the database engine where the Store's strategy differs
// (group commit, migrations, row-level security). The one place where a
// query's SQL differs is the tag filter, in models (query.go).
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

// tagsIndex is created after auto-migration on PostgreSQL only: GORM's
// index tags cannot say USING gin with an operator class, and SQLite has no
// GIN. jsonb_path_ops serves @> and is smaller than the default class.
const tagsIndex = `CREATE INDEX IF NOT EXISTS idx_tasks_tags ON tasks USING gin (tags jsonb_path_ops)`
