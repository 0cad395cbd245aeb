package database

import (
	"strings"
	"testing"
	"time"

	"todo-api/config"
	"todo-api/internal/testpg"
)

// TestRemindersLookIsAnIndexScan: with 100,000 armed reminders in the
// future and 20 due, the scheduler's look at what is due is a scan of
// idx_tasks_remind bounded by now, not of the table.
func TestRemindersLookIsAnIndexScan(t *testing.T) {
	db, err := Open(config.Database{Driver: config.Postgres, DSN: testpg.NewDatabase(t)}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	now := time.Now().UTC()
	for _, q := range []struct {
		n    int
		from time.Time
	}{{100000, now.Add(time.Hour)}, {20, now.Add(-time.Minute)}} {
		if err := db.Exec(`INSERT INTO tasks (user_id, title, remind_at, created_at, updated_at)
			SELECT 'u' || (g % 100), 't', ?::timestamptz + g * interval '1 second', now(), now() FROM generate_series(1, ?) AS g`, q.from, q.n).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec("ANALYZE tasks").Error; err != nil {
		t.Fatal(err)
	}
	var plan []string
	if err := db.Raw("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "+
		strings.NewReplacer("after", "'-infinity'", "upto", "?", "lim", "500").Replace(pgArmedRemindersQuery), now).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	t.Logf("the look at what is due:\n%s", text)
	if !strings.Contains(text, "idx_tasks_remind") || strings.Contains(text, "Seq Scan") || !strings.Contains(text, "rows=20 ") {
		t.Errorf("not an index scan of the 20 due reminders:\n%s", text)
	}
}
