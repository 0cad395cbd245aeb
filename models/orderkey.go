package models

import (
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// OrderKey is a manual-order key (internal/orderkey): rows sort by it, then
// by id. Keys compare byte by byte, so on PostgreSQL the column is collated
// "C": under a language collation (en_US.UTF-8, say) "B" sorts after "a"
// and the order of base-62 keys would not be the order of their bytes.
// SQLite compares text bytewise already.
type OrderKey string

// GormDBDataType picks the column type per database.
func (OrderKey) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	if db.Dialector.Name() == "postgres" {
		return `text COLLATE "C"`
	}
	return "text"
}
