package database

import (
	"context"

	"gorm.io/gorm"

	"todo-api/models"
)

// Store is the only way controllers reach the tables: it never hands out the
// unscoped handle, so a query that is not bound to its user cannot be
// written by accident.
type Store struct {
	db      *gorm.DB
	dialect dialect
	// group batches SQLite's write transactions (groupcommit.go); nil on
	// PostgreSQL, whose connections commit in parallel.
	group *groupCommit
}

// NewStore wraps db; main builds one and passes it to the controllers.
func NewStore(db *gorm.DB) *Store {
	s := &Store{db: db, dialect: dialectOf(db)}
	if s.dialect == sqliteDialect {
		s.group = newGroupCommit(db)
	}
	return s
}

// Tasks starts a query on userID's tasks, carrying ctx (deadline, cancellation).
// Call it once per statement: the handle it returns accumulates conditions.
// The context also names the user, for row-level security (rls.go).
func (s *Store) Tasks(ctx context.Context, userID string) *gorm.DB {
	return s.db.WithContext(withUser(ctx, userID)).Model(&models.Task{}).Scopes(models.OwnedBy(userID))
}

// Tx binds statements to one user: it starts that user's queries and
// nothing else. Inside Transaction they share one transaction; inside Write
// on PostgreSQL each is its own.
type Tx struct {
	tx     *gorm.DB
	userID string
}

// Tasks starts a statement on the user's tasks inside the transaction.
func (t Tx) Tasks() *gorm.DB {
	return t.tx.Model(&models.Task{}).Scopes(models.OwnedBy(t.userID))
}

// IdempotencyKeys starts a statement on the user's idempotency records
// inside the transaction.
func (t Tx) IdempotencyKeys() *gorm.DB {
	return t.tx.Model(&models.IdempotencyKey{}).Scopes(models.KeysOwnedBy(t.userID))
}

// Transaction runs fn in one transaction for userID; fn's error (or panic)
// rolls it back. Every statement inside must go through the Tx: on SQLite
// the pool has a single connection, which the transaction holds, so a
// statement on the Store itself would wait for it forever.
//
// On SQLite, fn runs in a savepoint of a transaction shared with other
// callers' functions (groupcommit.go), not with ctx: ctx only decides
// whether fn runs at all. Transaction returns once that transaction has
// committed, so a nil error still means "durable".
func (s *Store) Transaction(ctx context.Context, userID string, fn func(Tx) error) error {
	if userID == "" {
		return models.ErrNoOwner
	}
	if s.group != nil {
		return s.group.do(ctx, userID, fn)
	}
	return s.db.WithContext(withUser(ctx, userID)).Transaction(func(tx *gorm.DB) error {
		return fn(Tx{tx: tx, userID: userID})
	})
}

// Write runs fn's statements for userID where they commit soonest, for
// writes that need no transaction of their own (typically one statement).
// On SQLite that is Transaction's shared commit: one fsync for many
// requests instead of one each. On PostgreSQL the statements run as they
// are, each its own implicit transaction, as on Tasks(ctx, userID): a
// BEGIN and COMMIT would only add round trips there.
func (s *Store) Write(ctx context.Context, userID string, fn func(Tx) error) error {
	if s.group != nil || userID == "" {
		return s.Transaction(ctx, userID, fn)
	}
	return fn(Tx{tx: s.db.WithContext(withUser(ctx, userID)), userID: userID})
}
