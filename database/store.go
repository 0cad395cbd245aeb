package database

import (
	"context"

	"gorm.io/gorm"

	"todo-api/models"
)

// Store is the only way controllers reach the tables: it never hands out the
// unscoped handle, so a query that is not bound to its user cannot be
// written by accident. It has two doors: Tasks for reading, Write for every
// statement that changes a row.
type Store struct {
	db *gorm.DB
	// group batches SQLite's write transactions (groupcommit.go); nil on
	// PostgreSQL, whose connections commit in parallel.
	group *groupCommit
	// onCommit hears of every committed write (notify.go); nil: nobody.
	onCommit func(user string)
}

// NewStore wraps db; main builds one and passes it to the controllers.
func NewStore(db *gorm.DB) *Store {
	s := &Store{db: db}
	if dialectOf(db) == sqliteDialect {
		s.group = newGroupCommit(db)
	}
	return s
}

// Tasks starts a read of userID's tasks, carrying ctx (deadline,
// cancellation). Call it once per statement: the handle it returns
// accumulates conditions. The context also names the user, for row-level
// security (rls.go). Changes go through Write instead.
func (s *Store) Tasks(ctx context.Context, userID string) *gorm.DB {
	return s.db.WithContext(withUser(ctx, userID)).Model(&models.Task{}).Scopes(models.OwnedBy(userID))
}

// Tombstones starts a read of userID's tombstones (the change feed's
// deletes), as Tasks does for tasks.
func (s *Store) Tombstones(ctx context.Context, userID string) *gorm.DB {
	return s.db.WithContext(withUser(ctx, userID)).Model(&models.Tombstone{}).Scopes(models.TombstonesOwnedBy(userID))
}

// ChangesHead is userID's latest committed change-feed position (0 before
// any). Positions commit in order (feed.go), so every position up to it is
// committed: a feed page read up to it skips nothing that commits later.
func (s *Store) ChangesHead(ctx context.Context, userID string) (int64, error) {
	head, _, err := s.ChangesBounds(ctx, userID)
	return head, err
}

// ChangesBounds is ChangesHead and userID's floor, the highest position
// whose tombstone has been purged (retention.go), from one row: a cursor
// below the floor may have missed a delete.
func (s *Store) ChangesBounds(ctx context.Context, userID string) (head, floor int64, err error) {
	if userID == "" {
		return 0, 0, models.ErrNoOwner
	}
	var b struct{ ChangesHead, ChangesFloor int64 }
	err = s.db.WithContext(withUser(ctx, userID)).Table(usageTable).Select("changes_head, changes_floor").
		Where("user_id = ?", userID).Scan(&b).Error
	return b.ChangesHead, b.ChangesFloor, err
}

// Lists starts a read of userID's lists, as Tasks does for tasks.
func (s *Store) Lists(ctx context.Context, userID string) *gorm.DB {
	return s.db.WithContext(withUser(ctx, userID)).Model(&models.List{}).Scopes(models.ListsOwnedBy(userID))
}

// Tx binds statements to one user inside Write: it starts that user's
// queries and nothing else, and every one of them is part of the same
// transaction.
type Tx struct {
	tx     *gorm.DB
	userID string
}

// newTx binds db's statements to userID and marks them as coming through
// Write (see InWriteDoor).
func newTx(db *gorm.DB, ctx context.Context, userID string) Tx {
	return Tx{tx: db.WithContext(context.WithValue(withUser(ctx, userID), writeDoorKey{}, true)), userID: userID}
}

// Tasks starts a statement on the user's tasks inside the transaction.
func (t Tx) Tasks() *gorm.DB {
	return t.tx.Model(&models.Task{}).Scopes(models.OwnedBy(t.userID))
}

// Lists starts a statement on the user's lists inside the transaction.
func (t Tx) Lists() *gorm.DB {
	return t.tx.Model(&models.List{}).Scopes(models.ListsOwnedBy(t.userID))
}

// IdempotencyKeys starts a statement on the user's idempotency records
// inside the transaction.
func (t Tx) IdempotencyKeys() *gorm.DB {
	return t.tx.Model(&models.IdempotencyKey{}).Scopes(models.KeysOwnedBy(t.userID))
}

// Write is the one door for changes: it runs fn's statements for userID as
// one transaction, and returns nil only once that transaction has
// committed, so a nil error means "durable". fn's error (or panic) undoes
// all of its statements; one that would take the user past a quota fails
// with a *QuotaExceeded (quota.go). Every statement inside must go through the Tx:
// on SQLite the pool has a single connection, which the transaction holds,
// so a statement on the Store itself would wait for it forever.
//
// How the transaction commits is the engine's business, not the caller's.
// On PostgreSQL it is a transaction of its own. On SQLite, where every
// COMMIT waits for an fsync on the one connection, fn runs in a savepoint
// of a transaction shared with other callers' functions (groupcommit.go):
// one fsync acknowledges them all. There ctx only decides whether fn runs
// at all.
func (s *Store) Write(ctx context.Context, userID string, fn func(Tx) error) error {
	if userID == "" {
		return models.ErrNoOwner
	}
	var err error
	if s.group != nil {
		err = s.group.do(ctx, userID, fn)
	} else {
		// The user is in the BEGIN's context too: with row-level security on,
		// BEGIN and set_config then share one round trip (rls.go).
		err = s.db.WithContext(withUser(ctx, userID)).Transaction(func(tx *gorm.DB) error {
			return fn(newTx(tx, ctx, userID))
		})
	}
	if err == nil && s.onCommit != nil {
		s.onCommit(userID)
	}
	return asQuota(err)
}

type writeDoorKey struct{}

// InWriteDoor reports whether a statement's context comes from Write. The
// tests check with it that every change to a task went through the door.
func InWriteDoor(ctx context.Context) bool {
	in, _ := ctx.Value(writeDoorKey{}).(bool)
	return in
}
