package config

import (
	"errors"
	"fmt"
	"strings"
)

// parseRowLevelSecurity reads DB_ROW_LEVEL_SECURITY: on/off (also
// true/false, 1/0, yes/no), off by default. Row-level security is a
// PostgreSQL feature, so asking for it on SQLite is a start-up error rather
// than a silently missing lock.
func parseRowLevelSecurity(raw string, db Database) (bool, error) {
	var on bool
	switch strings.ToLower(raw) {
	case "", "off", "false", "0", "no":
		return false, nil
	case "on", "true", "1", "yes":
		on = true
	default:
		return false, fmt.Errorf("DB_ROW_LEVEL_SECURITY must be on or off, got %q", raw)
	}
	if db.Driver != Postgres {
		return false, errors.New("DB_ROW_LEVEL_SECURITY=on needs PostgreSQL (DATABASE_URL=postgres://...); SQLite has no row-level security")
	}
	return on, nil
}
