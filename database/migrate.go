package database

import (
	"context"
	"fmt"
	"log/slog"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"todo-api/config"
	"todo-api/models"
)

// migrationLockKey is the PostgreSQL advisory lock every instance holds while
// it migrates ("todo-api" in ASCII), so that instances starting together
// migrate one after the other: the first creates the schema, the others find
// it in place and change nothing. Without it, two concurrent CREATE TABLEs
// race and the loser fails with a duplicate-type error.
const migrationLockKey int64 = 0x746f646f2d617069

// migrate creates or extends the tables and indexes. New columns carry
// defaults, so a tasks table that already holds rows (the benchmark creates
// one beforehand) can take them. On PostgreSQL it runs in one
// transaction holding a transaction-scoped advisory lock: unlike a session
// lock, that also works through a transaction-mode pooler (the transaction
// keeps one server connection), and it is released even if the instance dies
// mid-migration. DDL is transactional in PostgreSQL, so a failed migration
// leaves nothing half done either.
func migrate(ctx context.Context, db *gorm.DB, quotas config.Quotas, log *slog.Logger) error {
	if dialectOf(db) != postgresDialect {
		if err := db.WithContext(ctx).AutoMigrate(&models.List{}, &models.Task{}, &models.IdempotencyKey{}, &models.Tombstone{}); err != nil {
			return err
		}
		if err := upgradeSQLite(db.WithContext(ctx)); err != nil {
			return err
		}
		return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := installQuotas(tx, sqliteDialect, quotas); err != nil {
				return err
			}
			return installFeed(tx, sqliteDialect)
		})
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		if err := tx.AutoMigrate(&models.List{}, &models.Task{}, &models.IdempotencyKey{}, &models.Tombstone{}); err != nil {
			return err
		}
		if err := upgradePostgres(tx); err != nil {
			return err
		}
		// Even IF NOT EXISTS needs the table's owner; a serving role that
		// owns nothing must find nothing to do (see rowLevelSecurity).
		if !tx.Migrator().HasIndex("tasks", "idx_tasks_tags") {
			if err := tx.Exec(tagsIndex).Error; err != nil {
				return err
			}
		}
		if err := installSearchIndex(tx, log, searchInPlaceRows); err != nil {
			return err
		}
		if err := installQuotas(tx, postgresDialect, quotas); err != nil {
			return err
		}
		if err := installReminders(tx); err != nil {
			return err
		}
		if err := installFeed(tx, postgresDialect); err != nil {
			return err
		}
		return installNotify(tx)
	})
}

// migrateVia migrates through a connection of its own to cfg.MigrationDSN:
// Neon's direct (non-pooled) host, where DDL and long transactions belong.
func migrateVia(ctx context.Context, cfg config.Database, clock models.Clock, log *slog.Logger) error {
	sqlDB, err := openPostgres(cfg.MigrationDSN, cfg.QueryExecMode, false)
	if err != nil {
		return fmt.Errorf("DATABASE_MIGRATION_URL: %w", err)
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		NowFunc: clock.Now,
		Logger:  logger.Discard,
	})
	if err != nil {
		return err
	}
	return migrate(ctx, db, cfg.Quotas, log)
}
