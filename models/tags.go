package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Tags is a task's labels, stored as a JSON array: jsonb on PostgreSQL (so a
// GIN index can serve containment filters) and text on SQLite (read with
// json_each). It is never nil once loaded, so it always encodes as [].
type Tags []string

// Value encodes the tags as a JSON array.
func (t Tags) Value() (driver.Value, error) {
	if len(t) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]string(t))
	return string(b), err
}

// Scan decodes a JSON array from either driver's representation.
func (t *Tags) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
		*t = Tags{}
		return nil
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return fmt.Errorf("tags: cannot scan %T", src)
	}
	out := Tags{}
	if string(raw) == "[]" {
		// Most tasks have no tags; json.Unmarshal showed in list profiles.
		*t = out
		return nil
	}
	if err := json.Unmarshal(raw, (*[]string)(&out)); err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	*t = out
	return nil
}

// GormDBDataType picks the column type per database.
func (Tags) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	if db.Dialector.Name() == "postgres" {
		return "jsonb"
	}
	return "text"
}
