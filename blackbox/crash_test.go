package blackbox_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/testpg"
	"todo-api/models"
)

// TestCrashDurability runs concurrent creates and toggles against the built
// binary — a third of the tasks recurring, so that completing one also
// creates its next occurrence in the same transaction — kills it with
// SIGKILL mid-load, starts it again on the same database, and checks that
// every request that got a 2xx is there in the state the response showed,
// that requests cut off by the kill were applied entirely or not at all, and
// that no recurring task was completed without its next occurrence, nor an
// occurrence created without its completed predecessor pointing to it. On
// PostgreSQL, and on the SQLite file (WAL, synchronous=FULL).
func TestCrashDurability(t *testing.T) {
	for _, driver := range []string{config.Postgres, config.SQLite} {
		t.Run(driver, func(t *testing.T) {
			var db config.Database
			var url string
			if driver == config.Postgres {
				url = testpg.NewDatabase(t)
				db = config.Database{Driver: config.Postgres, DSN: url}
			} else {
				path := filepath.Join(t.TempDir(), "crash.db")
				url = "sqlite:" + path
				db = config.Database{Driver: config.SQLite, DSN: path}
			}
			crashRun(t, url, db)
		})
	}
}

// op is one request of a crash worker and what came of it.
type op struct {
	kind  string // "create" or "toggle"
	title string // create: the task's unique title
	id    int64  // toggle: the task
	want  *bool  // toggle: the completed value sent, nil for a flip
	acked *task  // the response's task when it was a 2xx
}

func crashRun(t *testing.T, url string, dbcfg config.Database) {
	svc := start(t, underLoad("DATABASE_URL="+url)...)
	logs := loadUntilKilled(t, svc)
	if t.Failed() {
		return
	}

	// Restart on the same database: it must start, and serve.
	svc = start(t, underLoad("DATABASE_URL="+url)...)
	db, err := database.Open(dbcfg, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	verifyCrash(t, db, logs, newClient(svc.base, 4))
}

// crashWorkers is how many users load the service at once.
const crashWorkers = 8

// loadUntilKilled runs the crash workers against svc, kills it with
// SIGKILL once 400 requests have been acknowledged, and returns each
// worker's requests.
func loadUntilKilled(t *testing.T, svc *service) [][]op {
	c := newClient(svc.base, 16)
	logs := make([][]op, crashWorkers)
	acked := make(chan struct{}, 1<<16)
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() { defer wg.Done(); logs[w] = crashWorker(t, c, w, acked) }()
	}
	// Mid-load: once enough has been acknowledged, every worker has a
	// request in flight or about to be.
	deadline := time.After(20 * time.Second)
	for n := 0; n < 400; n++ {
		select {
		case <-acked:
		case <-deadline:
			t.Fatalf("only %d requests acknowledged in 20 s", n)
		}
	}
	svc.kill()
	wg.Wait()
	return logs
}

// crashWorker is user crash-w: creates (a third of them recurring) and
// toggles of its own tasks until the service is gone. It returns every
// request it sent, with the answer where one came; each answer is also a
// tick on acked.
func crashWorker(t *testing.T, c *client, w int, acked chan<- struct{}) []op {
	user := fmt.Sprintf("crash-%d", w)
	tok := token(t, user)
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	var log []op
	var mine []task // acknowledged state of this worker's tasks
	for i := 0; ; i++ {
		var o op
		var r reply
		if len(mine) < 3 || rng.IntN(3) == 0 {
			o = op{kind: "create", title: fmt.Sprintf("%s #%d", user, i)}
			body := map[string]any{"title": o.title, "tags": []string{"crash"}}
			if rng.IntN(3) == 0 {
				body["due_date"] = time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
				body["recurrence"] = []string{"daily", "weekly", "monthly"}[rng.IntN(3)]
			}
			log = append(log, o)
			r = c.do("POST", "/api/"+user+"/tasks", tok, body)
		} else {
			k := rng.IntN(len(mine))
			o = op{kind: "toggle", id: mine[k].ID}
			var body any
			if rng.IntN(2) == 0 {
				v := rng.IntN(2) == 0
				o.want, body = &v, map[string]any{"completed": v}
			}
			log = append(log, o)
			r = c.do("PATCH", fmt.Sprintf("/api/%s/tasks/%d/toggle", user, o.id), tok, body)
		}
		if r.err != nil {
			return log // the service is gone: this request's fate is unknown
		}
		if r.status != 201 && r.status != 200 {
			t.Errorf("%s %s: %d %s", o.kind, user, r.status, r.body)
			return log
		}
		tk, err := r.task()
		if err != nil {
			t.Errorf("%s: %v", o.kind, err)
			return log
		}
		log[len(log)-1].acked = &tk
		if o.kind == "create" {
			mine = append(mine, tk)
		} else {
			for k := range mine {
				if mine[k].ID == tk.ID {
					mine[k] = tk
				}
			}
		}
		select {
		case acked <- struct{}{}:
		default:
		}
	}
}

// stored is the database after the crash, indexed for the checks.
type stored struct {
	rows       []models.Task
	byID       map[int64]models.Task
	referenced map[int64]int  // id -> tasks whose next_task_id it is
	roots      map[string]int // title -> rows that no next_task_id points to
}

func readStored(t *testing.T, db *gorm.DB) stored {
	var s stored
	if err := db.Order("id").Find(&s.rows).Error; err != nil {
		t.Fatal(err)
	}
	s.byID, s.referenced, s.roots = map[int64]models.Task{}, map[int64]int{}, map[string]int{}
	for _, r := range s.rows {
		s.byID[r.ID] = r
		if r.NextTaskID != nil {
			s.referenced[*r.NextTaskID]++
		}
	}
	for _, r := range s.rows {
		if s.referenced[r.ID] == 0 {
			s.roots[r.Title]++
		}
	}
	return s
}

func verifyCrash(t *testing.T, db *gorm.DB, logs [][]op, c *client) {
	s := readStored(t, db)
	nAcked, nCut, nCutApplied := 0, 0, 0
	for w, log := range logs {
		acked, cut, applied := checkWorker(t, s, fmt.Sprintf("crash-%d", w), log)
		nAcked, nCut, nCutApplied = nAcked+acked, nCut+cut, nCutApplied+applied
	}
	series := checkSeries(t, s)
	// The restarted service serves what is stored.
	for _, r := range s.rows[:min(len(s.rows), 20)] {
		rep := c.do("GET", fmt.Sprintf("/api/%s/tasks/%d", r.UserID, r.ID), token(t, r.UserID), nil)
		got, err := rep.task()
		if rep.status != 200 || err != nil || same(got, fromModel(r)) != "" {
			t.Errorf("after the restart, task %d reads %d %s", r.ID, rep.status, rep.body)
		}
	}
	t.Logf("killed with %d requests acknowledged and %d cut off (%d of those committed anyway); %d rows after the restart, %d completed recurring tasks with their next occurrence",
		nAcked, nCut, nCutApplied, len(s.rows), series)
}

// checkWorker holds one worker's requests against the stored rows: every
// acknowledged create is there once, in its last acknowledged state, and a
// request cut off by the kill was applied entirely or not at all. It
// returns how many requests were acknowledged, cut off, and cut off but
// applied.
func checkWorker(t *testing.T, s stored, user string, log []op) (nAcked, nCut, nCutApplied int) {
	t.Helper()
	// The last acknowledged state of each task, and whether a request
	// on it was cut off after that.
	last := map[int64]task{}
	cut := map[int64]op{}
	for _, o := range log {
		if o.acked == nil {
			nCut++
			if o.kind == "toggle" {
				cut[o.id] = o
				continue
			}
			if s.roots[o.title] > 1 {
				t.Errorf("cut-off create %q applied %d times", o.title, s.roots[o.title])
			}
			nCutApplied += s.roots[o.title]
			continue
		}
		nAcked++
		last[o.acked.ID] = *o.acked
		if o.kind == "create" && s.roots[o.title] != 1 {
			t.Errorf("acknowledged create %q: %d rows", o.title, s.roots[o.title])
		}
	}
	for id, want := range last {
		r, ok := s.byID[id]
		if !ok {
			t.Errorf("acknowledged task %d of %s is gone", id, user)
			continue
		}
		got := fromModel(r)
		if diff := same(got, want); diff != "" {
			c, wasCut := cut[id]
			// A toggle cut off by the kill either committed or not.
			if !wasCut || got.Version != want.Version+1 || (c.want != nil && got.Completed != *c.want) || (c.want == nil && got.Completed == want.Completed) {
				t.Errorf("task %d of %s: stored %+v, acknowledged %+v: %s", id, user, got, want, diff)
			} else {
				nCutApplied++
			}
		}
	}
	return nAcked, nCut, nCutApplied
}

// checkSeries: a completed recurring task has its next occurrence, which
// continues it; every occurrence is pointed to by exactly one task. It
// returns how many tasks have a next occurrence.
func checkSeries(t *testing.T, s stored) int {
	t.Helper()
	series := 0
	for _, r := range s.rows {
		if r.UserID == "" || s.referenced[r.ID] > 1 {
			t.Errorf("task %d: owner %q, pointed to %d times", r.ID, r.UserID, s.referenced[r.ID])
		}
		if r.Recurrence == nil {
			continue
		}
		if r.Completed && r.NextTaskID == nil {
			t.Errorf("recurring task %d completed without its next occurrence", r.ID)
		}
		if r.NextTaskID == nil {
			continue
		}
		series++
		next, ok := s.byID[*r.NextTaskID]
		due, _ := r.Recurrence.Next(*r.DueDate)
		if !ok || next.UserID != r.UserID || next.Title != r.Title || next.DueDate == nil || !next.DueDate.Equal(due) {
			t.Errorf("task %d's next occurrence %d is missing or wrong: %+v", r.ID, *r.NextTaskID, next)
		}
	}
	return series
}
