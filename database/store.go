package database

import (
	"context"

	"gorm.io/gorm"

	"todo-api/models"
)

// Store is the only way controllers reach the tasks table: it never hands out
// the unscoped handle, so an unscoped task query cannot be written by accident.
type Store struct {
	db *gorm.DB
}

// NewStore wraps db; main builds one and passes it to the controllers.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// Tasks starts a query on userID's tasks, carrying ctx (deadline, cancellation).
// Call it once per statement: the handle it returns accumulates conditions.
func (s *Store) Tasks(ctx context.Context, userID string) *gorm.DB {
	return s.db.WithContext(ctx).Model(&models.Task{}).Scopes(models.OwnedBy(userID))
}

// Transaction runs fn in one transaction; fn gets a function that starts
// userID-scoped task queries inside it, and nothing else.
func (s *Store) Transaction(ctx context.Context, userID string, fn func(tasks func() *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(func() *gorm.DB {
			return tx.Model(&models.Task{}).Scopes(models.OwnedBy(userID))
		})
	})
}
