// Package database opens the configured database, migrates it, and hands out
// task queries already bound to their owner.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"todo-api/config"
	"todo-api/models"
)

// MigrationTimeout bounds the start-up migration, waiting for another
// instance's migration included.
const MigrationTimeout = time.Minute

// Open connects to the database the configuration names and migrates it.
func Open(cfg config.Database, clock models.Clock, log *slog.Logger) (*gorm.DB, error) {
	var dialector gorm.Dialector
	switch cfg.Driver {
	case config.Postgres:
		sqlDB, err := openPostgres(cfg.DSN, cfg.QueryExecMode, cfg.RowLevelSecurity)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		maxConns := cfg.MaxConns
		if maxConns < 1 {
			maxConns = 20
		}
		sqlDB.SetMaxOpenConns(maxConns)
		sqlDB.SetMaxIdleConns(maxConns)
		// Idle connections go after a while (Neon can then scale to zero),
		// and every connection is renewed now and then, so that one a
		// pooler or a failover has silently broken does not linger.
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		dialector = postgres.New(postgres.Config{Conn: sqlDB})
	case config.SQLite:
		dialector = sqlite.Open(sqliteDSN(cfg.DSN))
	default:
		return nil, fmt.Errorf("unknown database driver %q", cfg.Driver)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		// Every write is one statement or an explicit transaction already.
		SkipDefaultTransaction: true,
		NowFunc:                clock.Now,
		Logger:                 logger.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", cfg.Driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if cfg.Driver == config.SQLite {
		// One writer at a time is all SQLite allows; a single connection
		// queues writers in Go instead of spinning on SQLITE_BUSY. Reads
		// share it on purpose: a separate pool of readers (tried, see the
		// README's Performance section) starts every read with a cold page
		// cache once any write has committed, which doubled the CPU of a
		// mixed request, while this connection's cache stays warm.
		sqlDB.SetMaxOpenConns(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), MigrationTimeout)
	defer cancel()
	start := time.Now()
	if cfg.MigrationDSN != "" {
		err = migrateVia(ctx, cfg, clock, log)
	} else {
		err = migrate(ctx, db, cfg.Quotas, log)
	}
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("migrating the %s database: %w", cfg.Driver, err)
	}
	if cfg.Driver == config.SQLite {
		if err := useReaders(db, cfg.DSN); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("opening the SQLite readers: %w", err)
		}
	}
	if cfg.Driver == config.Postgres {
		if err := rowLevelSecurity(ctx, db, cfg.RowLevelSecurity); err != nil {
			_ = sqlDB.Close()
			return nil, err
		}
	}
	log.Info("database migrated", "driver", cfg.Driver, "via_migration_url", cfg.MigrationDSN != "",
		"took_ms", time.Since(start).Milliseconds())
	return db, nil
}

// sqliteDSN adds the pragmas the service relies on: WAL so that readers on
// other connections (a backup, the sqlite3 shell) never wait for the
// service's writes, nor it for them, a busy timeout instead of immediate SQLITE_BUSY errors, and
// full sync so that a task acknowledged to a client survives a crash. The
// file is read through a memory map of up to 256 MiB (page reads without a
// lseek and a read system call each, from the kernel's page cache) and the
// connection keeps up to 16 MiB of pages itself (SQLite's default is 2 MiB):
// profiles of the list showed a quarter of its time in those system calls.
// Writes still go through write() and fsync, so durability is unchanged.
// Temporary storage stays in memory: the group commit's savepoints
// (groupcommit.go) journal every page a request changes, and with a batch
// of requests that statement journal outgrew SQLite's 64 KiB in-memory
// threshold and went to a temporary file, which a profile of create put at
// a quarter of the service's CPU. The journal only undoes a failed
// request's savepoint; the WAL and its fsync are what make commits durable.
func sqliteDSN(path string) string {
	return "file:" + path +
		"?_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(5000)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)" +
		"&_pragma=mmap_size(268435456)" +
		"&_pragma=cache_size(-16000)" +
		"&_pragma=temp_store(MEMORY)" +
		"&_txlock=immediate"
}

// Close closes the connection pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return errors.Join(closeReaders(db), sqlDB.Close())
}

// Ping checks that the database answers, for /readyz.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
