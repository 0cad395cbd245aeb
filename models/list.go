package models

import (
	"time"

	"golang.org/x/text/cases"
	"gorm.io/gorm"

	"todo-api/internal/orderkey"
)

// List is one row of the lists table: a user's named group of tasks.
// (user_id, id) is unique so that tasks can reference it together with
// their own user_id (the composite foreign key in database/migrate.go): a
// task can then only ever be filed into a list of its own user.
type List struct {
	ID     int64  `gorm:"primaryKey;uniqueIndex:idx_lists_user_id,priority:2"`
	UserID string `gorm:"type:text;not null;uniqueIndex:idx_lists_user_id,priority:1;uniqueIndex:idx_lists_user_name,priority:1"`
	Name   string `gorm:"type:varchar(100);not null"`
	// NameKey is Name folded (FoldName), for the case-insensitive unique
	// name. Folded in Go rather than with LOWER(), which SQLite applies to
	// ASCII only.
	NameKey   string    `gorm:"type:varchar(400);not null;uniqueIndex:idx_lists_user_name,priority:2"`
	Color     *string   `gorm:"type:varchar(7)"`
	Position  OrderKey  `gorm:"not null"`
	Version   int64     `gorm:"not null;default:1"`
	CreatedAt time.Time `gorm:"not null;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"not null;autoUpdateTime:false"`
}

// FoldName is the form of a list name that uniqueness compares: Unicode
// full case folding, so that "Groceries", "GROCERIES" and "groceries" are
// one name, and so are "Straße" and "STRASSE". A Caser keeps state, hence
// one per call.
func FoldName(name string) string {
	return cases.Fold().String(name)
}

// BeforeCreate stamps a new list: both times now, version 1.
func (l *List) BeforeCreate(tx *gorm.DB) error {
	now := tx.NowFunc()
	l.CreatedAt, l.UpdatedAt = now, now
	l.Version = 1
	l.NameKey = FoldName(l.Name)
	if l.Position == "" {
		l.Position = OrderKey(orderkey.ForTime(now))
	}
	return nil
}

// BeforeUpdate moves updated_at and bumps version, as for tasks: updates
// are column maps (ErrStructUpdate).
func (l *List) BeforeUpdate(tx *gorm.DB) error {
	cols, ok := tx.Statement.Dest.(map[string]any)
	if !ok {
		return ErrStructUpdate
	}
	if _, ok := cols["updated_at"]; !ok {
		cols["updated_at"] = tx.NowFunc()
	}
	cols["version"] = gorm.Expr("version + 1")
	return nil
}
