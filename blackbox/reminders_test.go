package blackbox_test

import (
	"database/sql"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to arm and check reminders

	"todo-api/internal/testpg"
)

// firedMetric reads todo_api_reminders_fired_total{late} from an instance.
func firedMetric(t *testing.T, s *service, late bool) int {
	t.Helper()
	r := s.do("GET", "/metrics", "", nil)
	if r.err != nil || r.status != 200 {
		t.Fatalf("metrics: %v %d", r.err, r.status)
	}
	m := regexp.MustCompile(`(?m)^todo_api_reminders_fired_total\{late="` + strconv.FormatBool(late) + `"\} (\d+)$`).FindStringSubmatch(r.body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// armReminders inserts n tasks per user of users whose reminders come due
// spread over [from, from+spread), as one statement (the feed trigger and
// the quotas run as for any insert).
func armReminders(t *testing.T, db *sql.DB, users []string, n int, from time.Time, spread time.Duration) {
	t.Helper()
	for _, u := range users {
		_, err := db.Exec(`INSERT INTO tasks (user_id, title, remind_at, created_at, updated_at)
			SELECT $1, 'r' || g, $2::timestamptz + ($3::float8 * g / $4) * interval '1 microsecond', now(), now()
			FROM generate_series(0, $4 - 1) AS g`, u, from, float64(spread.Microseconds()), n)
		if err != nil {
			t.Fatalf("arming %s's reminders: %v", u, err)
		}
	}
}

// TestRemindersExactlyOnceAcrossInstances: three instances on one
// PostgreSQL, 1,000 reminders of two users due within three seconds: each
// fires once (reminded_at set, version 2), the instances' counts add up to
// 1,000, and each fires within a second of its remind_at. Then one
// instance is killed (-9) and the others fire what comes due; then all are
// stopped, reminders come due, and the next start fires them, late.
func TestRemindersExactlyOnceAcrossInstances(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	env := underLoad("DATABASE_URL=" + dsn)
	var svcs []*service
	for range 3 {
		svcs = append(svcs, launch(t, spec{env: env}))
	}
	for _, s := range svcs {
		s.ready()
	}
	// The test's own reads go around a pooler, which its statement cache
	// does not survive.
	db, err := sql.Open("pgx", testpg.DirectURL(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users := []string{"alice", "bob"}
	fired := func() (n int64) {
		if err := db.QueryRow("SELECT count(*) FROM tasks WHERE reminded_at IS NOT NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	armReminders(t, db, users, 500, time.Now().Add(2*time.Second), 3*time.Second)
	if !eventually(20*time.Second, func() bool { return fired() == 1000 }) {
		t.Fatalf("%d of 1000 reminders fired", fired())
	}
	var twice, wrongVersion int
	if err := db.QueryRow("SELECT count(*) FILTER (WHERE reminded_at IS NULL), count(*) FILTER (WHERE version <> 2) FROM tasks").Scan(&twice, &wrongVersion); err != nil || twice != 0 || wrongVersion != 0 {
		t.Fatalf("unfired %d, version not 2 (fired more than once) %d, %v", twice, wrongVersion, err)
	}
	total := 0
	var per []int
	for _, s := range svcs {
		n := firedMetric(t, s, false) + firedMetric(t, s, true)
		per = append(per, n)
		total += n
	}
	if total != 1000 {
		t.Fatalf("the instances counted %v fired reminders, %d in all, want 1000", per, total)
	}
	rows, err := db.Query("SELECT extract(epoch FROM reminded_at - remind_at) FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	var delays []float64
	for rows.Next() {
		var d float64
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		delays = append(delays, d)
	}
	rows.Close()
	sort.Float64s(delays)
	p50, p99, worst := delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1]
	t.Logf("1000 reminders over 3 instances %v: fire delay p50 %.3fs p99 %.3fs max %.3fs", per, p50, p99, worst)
	if p99 > 1 || delays[0] < 0 {
		t.Errorf("fire delay p99 %.3fs (want within 1 s), earliest %.3fs", p99, delays[0])
	}

	// kill -9 of one: the other two fire what comes due.
	svcs[0].kill()
	before := fired()
	armReminders(t, db, users, 50, time.Now().Add(time.Second), time.Second)
	if !eventually(15*time.Second, func() bool { return fired() == before+100 }) {
		t.Fatalf("after kill -9: %d of 100 fired", fired()-before)
	}

	// Everything down while reminders come due: the next start fires them, late.
	for _, s := range svcs[1:] {
		if err := s.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
	before = fired()
	armReminders(t, db, users, 20, time.Now().Add(-time.Minute), time.Second)
	next := start(t, env...)
	if !eventually(15*time.Second, func() bool { return fired() == before+40 }) {
		t.Fatalf("after the downtime: %d of 40 fired", fired()-before)
	}
	if late := firedMetric(t, next, true); late != 40 || firedMetric(t, next, false) != 0 {
		t.Errorf("after the downtime: %d fired late, want all 40", late)
	}
	var versions int
	if err := db.QueryRow("SELECT count(*) FROM tasks WHERE version <> 2").Scan(&versions); err != nil || versions != 0 {
		t.Errorf("%d tasks fired other than once (%v)", versions, err)
	}
}
