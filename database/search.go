package database

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"todo-api/config"
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

// searchInPlaceRows is the most tasks for which the migration builds the
// search indexes in its own transaction: about a second's work. A bigger
// table (an upgrade of a database in use) would hold the table's writes and
// the migration's one-minute timeout for as long as the build takes (40 s
// for a million tasks here), so its indexes are built afterwards,
// concurrently, by BuildSearchIndexes; q= scans until they are in place.
const searchInPlaceRows = 100_000

// installSearchIndex creates pg_trgm, and the search indexes when the table
// has at most inPlaceRows tasks, in tx, the migration's transaction. A
// managed database may refuse CREATE EXTENSION (the role may not create
// it, or the server does not ship it): the statement then runs under a
// savepoint, the refusal is logged, and q= scans the user's rows as
// before, with the same results. The extension is found wherever it was
// installed only if its schema is on the search path; otherwise the
// indexes are skipped the same way.
func installSearchIndex(tx *gorm.DB, log *slog.Logger, inPlaceRows int) error {
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
	var missing []string
	for _, ix := range searchIndexes {
		// As with idx_tasks_tags: IF NOT EXISTS still needs the table's
		// owner, and a serving role that owns nothing must find nothing to do.
		if !tx.Migrator().HasIndex("tasks", ix.name) {
			missing = append(missing, ix.sql)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var rows int
	if err := tx.Raw("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT ?) AS t", inPlaceRows+1).Scan(&rows).Error; err != nil {
		return err
	}
	if rows > inPlaceRows {
		log.Info("search indexes left to a concurrent build after the start: the table is large", "tasks_over", inPlaceRows)
		return nil
	}
	for _, sql := range missing {
		if err := tx.Exec(sql).Error; err != nil {
			return err
		}
	}
	return nil
}

// BuildSearchIndexes builds, with CREATE INDEX CONCURRENTLY (writes go on
// meanwhile), the search indexes the migration left to it, over a
// connection of its own to cfg.DirectDSN, the tables' owner when
// DATABASE_MIGRATION_URL is set, as for the migration. It
// returns at once when they are in place, which is every start but the
// first after an upgrade. A build that was cancelled (a stop, a crash)
// leaves an invalid index, which the next start drops and builds again;
// while any index build runs on the database (another instance's), this
// one leaves it alone. Ending ctx cancels the build.
func BuildSearchIndexes(ctx context.Context, cfg config.Database, log *slog.Logger) {
	sqlDB, err := openPostgres(cfg.DirectDSN(), cfg.QueryExecMode, false)
	if err != nil {
		return
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1)
	var visible bool
	if err := sqlDB.QueryRowContext(ctx, trgmVisible).Scan(&visible); err != nil || !visible {
		return
	}
	for _, ix := range searchIndexes {
		var valid sql.NullBool
		err := sqlDB.QueryRowContext(ctx, `SELECT i.indisvalid FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
			WHERE c.relname = $1 AND pg_table_is_visible(c.oid)`, ix.name).Scan(&valid)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			log.Warn("search index: reading its state failed", "index", ix.name, "sqlstate", sqlState(err))
			return
		}
		if valid.Valid && valid.Bool {
			continue
		}
		var building bool
		if err := sqlDB.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE pid <> pg_backend_pid())`).Scan(&building); err != nil || building {
			log.Info("search index: another index build is under way; leaving it to that one", "index", ix.name)
			return
		}
		start := time.Now()
		if valid.Valid { // the leftover of a cancelled build
			if _, err := sqlDB.ExecContext(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+ix.name); err != nil {
				log.Warn("search index: dropping an invalid one failed", "index", ix.name, "sqlstate", sqlState(err))
				return
			}
		}
		if _, err := sqlDB.ExecContext(ctx, strings.Replace(ix.sql, "CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)); err != nil {
			if ctx.Err() == nil {
				log.Warn("search index: the concurrent build failed; q= scans the user's tasks until a start builds it", "index", ix.name, "sqlstate", sqlState(err))
			}
			return
		}
		log.Info("search index built", "index", ix.name, "took_ms", time.Since(start).Milliseconds())
	}
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
