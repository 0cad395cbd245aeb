package database

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"todo-api/models"
)

// ClaimIdempotencyKey inserts rec (its user is the Tx's) unless the user
// already holds a live record for the key, and reports whether it did. A
// record created before expiredBefore is taken over as if it were absent.
//
// It relies on the primary key, not on a read first: a concurrent
// transaction inserting the same key waits on the uncommitted row and then
// sees it (PostgreSQL), or waits for the whole transaction (SQLite, which
// runs them one at a time), so exactly one of several retries claims the key.
func (t Tx) ClaimIdempotencyKey(rec *models.IdempotencyKey, expiredBefore time.Time) (bool, error) {
	rec.UserID = t.userID
	res := t.IdempotencyKeys().Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "user_id"}, {Name: "idempotency_key"}},
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Lt{Column: clause.Column{Table: "idempotency_keys", Name: "created_at"}, Value: expiredBefore},
		}},
		DoUpdates: clause.AssignmentColumns([]string{"request_hash", "status", "body", "location", "etag", "created_at"}),
	}).Create(rec)
	return res.RowsAffected == 1, res.Error
}

// PurgeIdempotencyKeys deletes every user's records created before cutoff.
// It is maintenance, not a user's query, so it takes the handle itself;
// under row-level security its context admits expired records only.
func PurgeIdempotencyKeys(ctx context.Context, db *gorm.DB, cutoff time.Time) (int64, error) {
	res := db.WithContext(purging(ctx)).Where("created_at < ?", cutoff).Delete(&models.IdempotencyKey{})
	return res.RowsAffected, res.Error
}

// Janitor purges expired idempotency records every interval until ctx ends;
// main runs it. Expired records are never replayed even before the purge
// (ClaimIdempotencyKey takes them over): this only keeps the table small.
func Janitor(ctx context.Context, db *gorm.DB, clock models.Clock, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := PurgeIdempotencyKeys(ctx, db, clock.Now().Add(-models.IdempotencyTTL))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purging idempotency keys", "error", err.Error())
		case n > 0:
			log.Info("purged idempotency keys", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
