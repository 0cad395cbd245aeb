// Package database opens the configured database, migrates it, and hands out
// task queries already bound to their owner.
package database

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"todo-api/config"
	"todo-api/models"
)

// Clock tells the time; time.Now in production, a fixed clock in tests.
type Clock func() time.Time

// Now is the clock's time as stored: UTC, to the microsecond that PostgreSQL
// keeps, so a task read back equals the one a write response showed.
func (c Clock) Now() time.Time { return c().UTC().Truncate(time.Microsecond) }

// Open connects to the database the configuration names and migrates it.
func Open(cfg config.Database, clock Clock, log *slog.Logger) (*gorm.DB, error) {
	var dialector gorm.Dialector
	switch cfg.Driver {
	case config.Postgres:
		var err error
		if dialector, err = postgresDialector(cfg); err != nil {
			return nil, err
		}
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
		// queues writers in Go instead of spinning on SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := migrate(db.WithContext(ctx)); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("migrating the %s database: %w", cfg.Driver, err)
	}
	if cfg.Driver == config.Postgres {
		if err := rowLevelSecurity(ctx, db, cfg.RowLevelSecurity); err != nil {
			_ = sqlDB.Close()
			return nil, err
		}
	}
	return db, nil
}

// migrate creates or extends the tables and indexes. New columns carry
// defaults, so a tasks table that already holds rows (the benchmark creates
// one beforehand) can take them. On PostgreSQL it runs in one transaction
// under an advisory lock: instances that start at once migrate one after
// the other instead of racing on CREATE INDEX, and a failure leaves nothing
// half done.
func migrate(db *gorm.DB) error {
	if dialectOf(db) != postgresDialect {
		return db.AutoMigrate(&models.Task{}, &models.IdempotencyKey{})
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLock).Error; err != nil {
			return err
		}
		if err := tx.AutoMigrate(&models.Task{}, &models.IdempotencyKey{}); err != nil {
			return err
		}
		if tx.Migrator().HasIndex("tasks", "idx_tasks_tags") {
			// Even IF NOT EXISTS needs the table's owner; a serving role
			// that owns nothing must find nothing to do (see rls.go).
			return nil
		}
		return tx.Exec(tagsIndex).Error
	})
}

// sqliteDSN adds the pragmas the service relies on: WAL so readers never wait
// for the writer, a busy timeout instead of immediate SQLITE_BUSY errors, and
// full sync so that a task acknowledged to a client survives a crash.
func sqliteDSN(path string) string {
	return "file:" + path +
		"?_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(5000)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)" +
		"&_txlock=immediate"
}

// Close closes the connection pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers, for /readyz.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
