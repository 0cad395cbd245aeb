package models

import "time"

// IdempotencyTTL is how long the first response to a POST with an
// Idempotency-Key is replayed.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyKey records the first response to a POST that carried an
// Idempotency-Key header. The primary key (user_id, idempotency_key) is what
// makes concurrent retries safe: the row is inserted in the same transaction
// as the task, so a second insert of the same key waits for the first
// transaction and then finds the row instead of creating a second task.
type IdempotencyKey struct {
	UserID string `gorm:"primaryKey;type:text"`
	Key    string `gorm:"primaryKey;column:idempotency_key;type:varchar(255)"`
	// RequestHash identifies the request the key was first used with, so a
	// reuse of the key for another request can be refused.
	RequestHash string `gorm:"type:text;not null"`
	// Status is 0 while the creating transaction runs (never visible to
	// other transactions) and the response status afterwards.
	Status    int       `gorm:"not null;default:0"`
	Body      string    `gorm:"type:text;not null;default:''"`
	Location  string    `gorm:"type:text;not null;default:''"`
	ETag      string    `gorm:"column:etag;type:text;not null;default:''"`
	CreatedAt time.Time `gorm:"not null;autoCreateTime:false;index:idx_idempotency_keys_created"`
}
