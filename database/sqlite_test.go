package database

import "testing"

// TestSQLitePragmas: the connection the service opens carries the settings
// its promises rest on — durability (WAL, synchronous=FULL), waiting rather
// than failing on a lock, and the in-memory statement journal that keeps the
// group commit's savepoints off the disk (see sqliteDSN).
func TestSQLitePragmas(t *testing.T) {
	db, _ := openSQLite(t)
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
		{"temp_store", "2"}, // MEMORY
		{"cache_size", "-16000"},
		{"mmap_size", "268435456"},
	} {
		var got string
		if err := db.Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
}
