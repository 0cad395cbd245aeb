package database

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"todo-api/models"
)

// purgeBatch is how many tombstones one statement of the purge deletes:
// each batch is a short transaction of its own, so that the floors it
// raises (one row per user, which that user's writes also take) are held
// for milliseconds, never for a purge of millions.
const purgeBatch = 5000

// purgeLockKey is the advisory lock of the tombstone purge ("todo-gc"):
// every instance runs the janitor, and one that finds another purging
// skips its turn instead of deleting the same rows in another order (two
// such deletes can deadlock on each other's rows).
const purgeLockKey int64 = 0x746f646f2d6763

// PurgeTombstones deletes the change feed's tombstones (of every user)
// deleted before cutoff, oldest first, and returns how many it deleted. A
// trigger raises each user's floor with them (feed.go). It is maintenance,
// not a user's query, so it takes the handle itself; under row-level
// security its context admits tombstones older than
// config.MinChangesRetention only (rlsmigrate.go).
func PurgeTombstones(ctx context.Context, db *gorm.DB, cutoff time.Time) (int64, error) {
	db = db.WithContext(purging(ctx))
	postgres := dialectOf(db) == postgresDialect
	var total int64
	for {
		var n int64
		err := db.Transaction(func(tx *gorm.DB) error {
			if postgres {
				var mine bool
				if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", purgeLockKey).Scan(&mine).Error; err != nil || !mine {
					return err
				}
			}
			oldest := tx.Model(&models.Tombstone{}).Select("user_id, seq").
				Where("deleted_at < ?", cutoff).Order("deleted_at").Limit(purgeBatch)
			res := tx.Where("(user_id, seq) IN (?)", oldest).Delete(&models.Tombstone{})
			n = res.RowsAffected
			return res.Error
		})
		total += n
		if err != nil || n < purgeBatch || ctx.Err() != nil {
			return total, err
		}
	}
}

// ChangesJanitor purges tombstones older than retention every interval
// until ctx ends; main runs it on every instance.
func ChangesJanitor(ctx context.Context, db *gorm.DB, clock models.Clock, retention, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := PurgeTombstones(ctx, db, clock.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purging change feed tombstones", "error", err.Error())
		case n > 0:
			log.Info("purged change feed tombstones", "deleted", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
