package models

import (
	"errors"

	"gorm.io/gorm"
)

// ErrNoOwner stops a query that has no user to bind it to.
var ErrNoOwner = errors.New("query without an owner")

// OwnedBy is the scope that binds a task query to one user. Every task query
// the API runs goes through it (see database.Store.Tasks); an empty user id
// fails closed instead of matching every row.
func OwnedBy(userID string) func(*gorm.DB) *gorm.DB {
	return ownedBy("tasks.user_id", userID)
}

// ListsOwnedBy is OwnedBy for the lists table.
func ListsOwnedBy(userID string) func(*gorm.DB) *gorm.DB {
	return ownedBy("lists.user_id", userID)
}

// KeysOwnedBy is OwnedBy for the idempotency_keys table.
func KeysOwnedBy(userID string) func(*gorm.DB) *gorm.DB {
	return ownedBy("idempotency_keys.user_id", userID)
}

func ownedBy(column, userID string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if userID == "" {
			_ = db.AddError(ErrNoOwner)
			return db
		}
		return db.Where(column+" = ?", userID)
	}
}

// IdempotencyKeyNamed narrows a statement on idempotency records to one key.
func IdempotencyKeyNamed(key string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where("idempotency_keys.idempotency_key = ?", key) }
}
