package blackbox_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite", to seed the file directly

	"todo-api/internal/testpg"
)

// The starvation attack of one user on everyone else: the attacker holds
// many tasks and keeps up to 40 searches in flight, under the rate limit;
// another user reads one task meanwhile. Its latency is compared with its
// own latency on the idle service, measured in the same test a moment
// before, so a slower or busier machine moves both figures alike.

const (
	// starveInFlight and starveRate are the attack of the issue: 40
	// searches in flight, offered at 20 a second (the default rate limit of
	// 1,200 a minute), so the rate limit alone never refuses it.
	starveInFlight = 40
	starveRate     = 20
	// starveRatio and starveFloor are the bound on the victim's p99 under
	// attack: 3× its idle p99, plus a floor. Idle, a one-task GET takes
	// about a millisecond, so 3× is 3 ms: one time slice that any other
	// process on the shared 2-core machine may take from the victim
	// (Linux's scheduler grants slices of up to a few milliseconds each),
	// the attack or not. Unprotected, the p99 is seconds, two orders of
	// magnitude above the floor.
	starveRatio = 3
	starveFloor = 25 * time.Millisecond
)

// starveTasks is how many tasks the attacker holds: 100,000, the issue's
// figure (with 20,000 the unprotected PostgreSQL build passed narrowly);
// STARVE_TASKS changes it.
func starveTasks(t *testing.T) int {
	if raw := os.Getenv("STARVE_TASKS"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			t.Fatalf("STARVE_TASKS=%q", raw)
		}
		return n
	}
	return 100000
}

// starveSearches are the attacker's searches, in turn: one the trigram
// index serves, one too short for trigrams, one that every task matches.
// The cap must protect the victim from the two the index cannot help with.
var starveSearches = []string{"item 1234 zq", "zq", "task"}

// TestOneUserCannotStarveOthers runs the attack against the built binary
// on both databases: the victim's reads all succeed, with a p99 within
// starveRatio× its idle p99 plus starveFloor.
func TestOneUserCannotStarveOthers(t *testing.T) {
	n := starveTasks(t)
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var dsn, driver, source string
			if db == "sqlite" {
				path := filepath.Join(t.TempDir(), "todo.db")
				dsn, driver, source = "sqlite:"+path, "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
			} else {
				dsn = testpg.NewDatabase(t)
				driver, source = "pgx", testpg.DirectURL(t, dsn)
			}
			// The attack needs more tasks than the default quota allows.
			svc := start(t, "APP_ENV=production", "LOG_LEVEL=warn", "DATABASE_URL="+dsn, "MAX_TASKS_PER_USER="+strconv.Itoa(n+1))
			victim, attacker := token(t, "bob"), token(t, "mallory")
			r := svc.do("POST", "/api/bob/tasks", victim, titleBody("bob's one task"))
			if r.err != nil || r.status != http.StatusCreated {
				t.Fatalf("create: %v %d %s", r.err, r.status, r.body)
			}
			var created struct{ ID int64 }
			if err := json.Unmarshal([]byte(r.body), &created); err != nil {
				t.Fatal(err)
			}
			seedTasks(t, driver, source, "mallory", n)
			// The first searches warm the caches, and prove the seed is there.
			if r := svc.do("GET", "/api/mallory/tasks?q=task&limit=1", attacker, nil); r.status != 200 || r.header.Get("X-Total-Count") != strconv.Itoa(n) {
				t.Fatalf("seeded search: %d, X-Total-Count %s, want %d", r.status, r.header.Get("X-Total-Count"), n)
			}
			read := "/api/bob/tasks/" + strconv.FormatInt(created.ID, 10)
			one := newClient(svc.base, 1)

			idle, idleFails := sample(one, read, victim, 3*time.Second)
			var stats attackStats
			stop := attack(svc.base, attacker, &stats)
			time.Sleep(500 * time.Millisecond) // the attack in full swing
			loaded, loadedFails := sample(one, read, victim, 4*time.Second)
			stop()

			ip50, ip99 := percentiles(idle)
			lp50, lp99 := percentiles(loaded)
			t.Logf("%s, %d tasks: victim idle p50 %v p99 %v (%d reads); under attack p50 %v p99 %v (%d reads, %d failed); "+
				"attacker %s",
				db, n, ip50, ip99, len(idle), lp50, lp99, len(loaded), loadedFails, stats.String())
			if idleFails > 0 || loadedFails > 0 {
				t.Errorf("victim reads failed: %d idle, %d under attack", idleFails, loadedFails)
			}
			if bound := starveRatio*ip99 + starveFloor; lp99 > bound {
				t.Errorf("victim p99 under attack %v > %d × idle p99 %v + %v = %v", lp99, starveRatio, ip99, starveFloor, bound)
			}
			if stats.ok.Load() == 0 {
				t.Error("the attacker got no search through: the cap must slow one user down, not lock them out")
			}
		})
	}
}

// seedTasks gives user n tasks, straight into the database: through the
// API it would take minutes. The rows are copies of one made through the
// API (every column in the service's own format), each with its own title
// and description.
func seedTasks(t *testing.T, driver, source, user string, n int) {
	t.Helper()
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows string
	if driver == "pgx" {
		rows = `SELECT g FROM generate_series(1, $2::int) g`
	} else {
		rows = `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $2) SELECT g FROM s`
	}
	seed := fmt.Sprintf(`INSERT INTO tasks (user_id, title, description, completed, priority, tags, version, created_at, updated_at)
		SELECT $1, 'task ' || g, 'note about item ' || g, false, 'medium', '[]', 1, created_at, updated_at
		FROM (%s) AS series, (SELECT created_at, updated_at FROM tasks LIMIT 1) AS model`, rows)
	if _, err := db.Exec(seed, user, n); err != nil {
		t.Fatalf("seeding %d tasks: %v", n, err)
	}
	if _, err := db.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

// attackStats counts the attacker's answers.
type attackStats struct {
	ok, limited, unavailable, other atomic.Int64
	started                         time.Time
	stopped                         time.Time
}

func (s *attackStats) String() string {
	secs := s.stopped.Sub(s.started).Seconds()
	return fmt.Sprintf("%.1f searches/s answered 200, %.1f/s 429, %.1f/s 503, %d other",
		float64(s.ok.Load())/secs, float64(s.limited.Load())/secs, float64(s.unavailable.Load())/secs, s.other.Load())
}

// attack offers starveRate searches a second, cycling through
// starveSearches, with up to starveInFlight of them in flight; stop ends
// it and waits for the searches in flight.
func attack(base, tok string, stats *attackStats) (stop func()) {
	c := newClient(base, starveInFlight)
	slots := make(chan struct{}, starveInFlight)
	done := make(chan struct{})
	var wg sync.WaitGroup
	stats.started = time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / starveRate)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				continue // all 40 in flight: this tick's search is not sent
			}
			wg.Add(1)
			go func(q string) {
				defer wg.Done()
				defer func() { <-slots }()
				r := c.do("GET", "/api/mallory/tasks?q="+url.QueryEscape(q), tok, nil)
				switch {
				case r.err != nil:
					stats.other.Add(1)
				case r.status == 200:
					stats.ok.Add(1)
				case r.status == 429:
					stats.limited.Add(1)
				case r.status == 503:
					stats.unavailable.Add(1)
				default:
					stats.other.Add(1)
				}
			}(starveSearches[i%len(starveSearches)])
		}
	}()
	return func() {
		close(done)
		stats.stopped = time.Now()
		wg.Wait()
	}
}

// sample reads path one request after another, 10 ms apart, for d, and
// returns the latency of each 200 and how many were not 200.
func sample(c *client, path, tok string, d time.Duration) (latencies []time.Duration, failed int) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		began := time.Now()
		r := c.do("GET", path, tok, nil)
		took := time.Since(began)
		if r.err != nil || r.status != 200 {
			failed++
		} else {
			latencies = append(latencies, took)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return latencies, failed
}

// percentiles are the p50 and p99 of ds (nearest rank).
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return at(0.50), at(0.99)
}
