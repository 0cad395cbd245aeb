package database

import (
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// searchIndexes serve q= on PostgreSQL. The condition (models.TaskFilter)
// is LOWER(column) LIKE LOWER(pattern) ESCAPE '!', so each index is on the
// same expression, with pg_trgm's GIN operator class, which serves LIKE
// with any pattern: a pattern with fewer than three characters between
// its wildcards extracts no trigram and the planner falls back to the
// user's rows, and the index is lossy, so PostgreSQL rechecks every row
// with the condition itself. Either way the rows are the scan's exactly
// (TestSearchIndexSameRows). Title and description have an index each, so
// that a match never spans the two (a BitmapOr of both).
var searchIndexes = []struct{ name, sql string }{
	{"idx_tasks_title_trgm", `CREATE INDEX IF NOT EXISTS idx_tasks_title_trgm ON tasks USING gin (LOWER(title) gin_trgm_ops)`},
	{"idx_tasks_description_trgm", `CREATE INDEX IF NOT EXISTS idx_tasks_description_trgm ON tasks USING gin (LOWER(description) gin_trgm_ops)`},
}

// installSearchIndex creates pg_trgm and the search indexes in tx, the
// migration's transaction. A managed database may refuse CREATE EXTENSION
// (the role may not create it, or the server does not ship it): the
// statement then runs under a savepoint, the refusal is logged, and q=
// scans the user's rows as before, with the same results. The extension
// is found wherever it was installed only if its schema is on the search
// path; otherwise the indexes are skipped the same way.
func installSearchIndex(tx *gorm.DB, log *slog.Logger) error {
	var visible bool
	if err := tx.Raw(trgmVisible).Scan(&visible).Error; err != nil {
		return err
	}
	if !visible {
		if err := tx.SavePoint("search_index").Error; err != nil {
			return err
		}
		if err := tx.Exec("CREATE EXTENSION IF NOT EXISTS pg_trgm").Error; err != nil {
			if rerr := tx.RollbackTo("search_index").Error; rerr != nil {
				return rerr
			}
			log.Warn("search without an index: CREATE EXTENSION pg_trgm was refused, so q= reads every task of the user",
				"sqlstate", sqlState(err))
			return nil
		}
		if err := tx.Raw(trgmVisible).Scan(&visible).Error; err != nil {
			return err
		}
		if !visible {
			log.Warn("search without an index: pg_trgm is installed in a schema that is not on the search path, so q= reads every task of the user")
			return nil
		}
	}
	for _, ix := range searchIndexes {
		// As with idx_tasks_tags: IF NOT EXISTS still needs the table's
		// owner, and a serving role that owns nothing must find nothing to do.
		if tx.Migrator().HasIndex("tasks", ix.name) {
			continue
		}
		if err := tx.Exec(ix.sql).Error; err != nil {
			return err
		}
	}
	return nil
}

// trgmVisible tells whether pg_trgm's GIN operator class can be named
// unqualified, as searchIndexes do.
const trgmVisible = `SELECT EXISTS (SELECT 1 FROM pg_opclass WHERE opcname = 'gin_trgm_ops' AND pg_opclass_is_visible(oid))`

// sqlState is err's SQLSTATE, for a log line that shows no SQL.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
