package database

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/models"
)

// openSQLite opens and migrates a fresh SQLite file with the service's own
// settings (one connection, WAL, synchronous=FULL); it also returns the path.
func openSQLite(t *testing.T) (*gorm.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "todo.db")
	db, err := Open(config.Database{Driver: config.SQLite, DSN: path}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	return db, path
}

// queued is how many requests wait for a batch.
func (g *groupCommit) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// waitFor polls cond; the batcher has no events to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// submission is one Store.Write call.
type submission struct {
	ctx  context.Context
	user string
	fn   func(Tx) error
}

// oneBatch makes subs one batch, run in the order given: a first request
// holds the batcher until all of them are queued one after the other, and
// while it holds it, during runs (if not nil) with the connection busy. It
// returns each call's error and checks that exactly two transactions ran:
// the holder's and the batch's.
func oneBatch(t *testing.T, s *Store, subs []submission, during func()) []error {
	t.Helper()
	if len(subs) > maxBatch {
		t.Fatalf("%d requests do not fit one batch of %d", len(subs), maxBatch)
	}
	before := s.group.commits.Load()
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Write(context.Background(), "holder", func(Tx) error {
			close(held)
			<-release
			return nil
		}); err != nil {
			t.Errorf("holder: %v", err)
		}
	}()
	<-held
	errs := make([]error, len(subs))
	for i, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Write(sub.ctx, sub.user, sub.fn)
		}()
		waitFor(t, fmt.Sprintf("request %d to queue", i), func() bool { return s.group.queued() == i+1 })
	}
	if during != nil {
		during()
	}
	close(release)
	wg.Wait()
	if n := s.group.commits.Load() - before; n != 2 {
		t.Errorf("%d transactions ran, want 2 (the holder's and one batch)", n)
	}
	return errs
}

var errRefused = errors.New("refused by the test")

// titles lists user's task titles in id order, read outside any batch.
func titles(t *testing.T, s *Store, user string) []string {
	t.Helper()
	var out []string
	if err := s.Tasks(context.Background(), user).Order("id").Pluck("title", &out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGroupCommit runs batches of requests that create a task each and then
// succeed, fail, panic or arrive too late, and checks that each request's
// outcome and rows are its own while one COMMIT serves the batch.
func TestGroupCommit(t *testing.T) {
	type call struct {
		user, title string
		outcome     string // ok, error, panic, cancelled
	}
	many := make([]call, maxBatch)
	for i := range many {
		many[i] = call{user: []string{"alice", "bob"}[i%2], title: fmt.Sprintf("task %d", i), outcome: "ok"}
	}
	tests := []struct {
		name  string
		calls []call
	}{
		{"a full batch of creates commits once", many},
		{"an error rolls back only its own rows", []call{
			{"alice", "a1", "ok"}, {"bob", "b1", "error"}, {"alice", "a2", "ok"}, {"bob", "b2", "ok"},
		}},
		{"a panic rolls back only its own rows", []call{
			{"alice", "a1", "ok"}, {"alice", "a2", "panic"}, {"bob", "b1", "ok"},
		}},
		{"a request whose context ended is skipped", []call{
			{"alice", "a1", "ok"}, {"bob", "b1", "cancelled"}, {"bob", "b2", "ok"},
		}},
		{"failures first and last", []call{
			{"alice", "a1", "panic"}, {"bob", "b1", "error"}, {"alice", "a2", "ok"}, {"bob", "b2", "cancelled"},
			{"bob", "b3", "ok"}, {"alice", "a3", "error"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openSQLite(t)
			s := NewStore(db)
			subs := make([]submission, len(tc.calls))
			for i, c := range tc.calls {
				ctx := context.Background()
				if c.outcome == "cancelled" {
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					ctx = cctx
				}
				subs[i] = submission{ctx: ctx, user: c.user, fn: func(tx Tx) error {
					if err := tx.Tasks().Create(&models.Task{UserID: c.user, Title: c.title}).Error; err != nil {
						return err
					}
					switch c.outcome {
					case "error":
						return errRefused
					case "panic":
						panic("the test panics after " + c.title)
					}
					return nil
				}}
			}
			errs := oneBatch(t, s, subs, nil)

			want := map[string][]string{}
			for i, c := range tc.calls {
				err := errs[i]
				switch c.outcome {
				case "ok":
					want[c.user] = append(want[c.user], c.title)
					if err != nil {
						t.Errorf("%s: %v", c.title, err)
					}
				case "error":
					if !errors.Is(err, errRefused) {
						t.Errorf("%s: got %v, want its own error", c.title, err)
					}
				case "panic":
					if err == nil || !strings.Contains(err.Error(), "panicked") {
						t.Errorf("%s: got %v, want the panic as an error", c.title, err)
					}
				case "cancelled":
					if !errors.Is(err, context.Canceled) {
						t.Errorf("%s: got %v, want context.Canceled", c.title, err)
					}
				}
			}
			for _, u := range []string{"alice", "bob"} {
				if got := strings.Join(titles(t, s, u), ","); got != strings.Join(want[u], ",") {
					t.Errorf("%s's tasks: %q, want %q", u, got, strings.Join(want[u], ","))
				}
			}
			// Whatever the batch went through, the next one works.
			if err := s.Write(context.Background(), "carol", func(tx Tx) error {
				return tx.Tasks().Create(&models.Task{UserID: "carol", Title: "after"}).Error
			}); err != nil {
				t.Errorf("the next transaction: %v", err)
			}
		})
	}
}

// TestGroupCommitBatchesConcurrentCallers starts 64 callers at once, with
// nothing holding the batcher: all rows arrive, in fewer commits than rows.
func TestGroupCommitBatchesConcurrentCallers(t *testing.T) {
	db, _ := openSQLite(t)
	s := NewStore(db)
	const n = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			user := fmt.Sprintf("user%d", i%8)
			errs[i] = s.Write(context.Background(), user, func(tx Tx) error {
				return tx.Tasks().Create(&models.Task{UserID: user, Title: fmt.Sprint(i)}).Error
			})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	var rows int64
	if err := db.Model(&models.Task{}).Count(&rows).Error; err != nil || rows != n {
		t.Errorf("%d rows (%v), want %d", rows, err, n)
	}
	if c := s.group.commits.Load(); c >= n {
		t.Errorf("%d commits for %d callers: nothing was batched", c, n)
	} else {
		t.Logf("%d callers, %d commits", n, c)
	}
}

// TestGroupCommitKeepsUsersApart runs alice's and bob's requests in one
// transaction: bob's scope sees, finds and changes none of alice's rows,
// not even the one her request created just before his in the same batch.
func TestGroupCommitKeepsUsersApart(t *testing.T) {
	db, _ := openSQLite(t)
	s := NewStore(db)
	seedTasks(t, s, "alice", "bob")
	var aliceNew models.Task
	var bobSaw, aliceSaw []string
	var bobFound, bobChanged int64
	errs := oneBatch(t, s, []submission{
		{context.Background(), "alice", func(tx Tx) error {
			aliceNew = models.Task{UserID: "alice", Title: "alice new"}
			return tx.Tasks().Create(&aliceNew).Error
		}},
		{context.Background(), "bob", func(tx Tx) error {
			if err := tx.Tasks().Order("id").Pluck("user_id", &bobSaw).Error; err != nil {
				return err
			}
			if err := tx.Tasks().Where("tasks.id = ?", aliceNew.ID).Count(&bobFound).Error; err != nil {
				return err
			}
			res := tx.Tasks().Where("tasks.id = ?", aliceNew.ID).Update("title", "taken by bob")
			bobChanged = res.RowsAffected
			return res.Error
		}},
		{context.Background(), "alice", func(tx Tx) error {
			return tx.Tasks().Order("id").Pluck("title", &aliceSaw).Error
		}},
	}, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := strings.Join(bobSaw, ","); got != "bob,bob,bob" {
		t.Errorf("bob's scope saw the rows of %s", got)
	}
	if bobFound != 0 || bobChanged != 0 {
		t.Errorf("bob found %d and changed %d of alice's new task", bobFound, bobChanged)
	}
	if got := strings.Join(aliceSaw, ","); got != "alice 0,alice 1,alice 2,alice new" {
		t.Errorf("alice's scope saw %s", got)
	}
}

// TestGroupCommitLetsOtherWritesWait writes outside Store.Write while
// a batch holds the only connection: the write waits, then succeeds.
func TestGroupCommitLetsOtherWritesWait(t *testing.T) {
	db, _ := openSQLite(t)
	s := NewStore(db)
	done := make(chan error, 1)
	errs := oneBatch(t, s, []submission{{context.Background(), "alice", func(tx Tx) error {
		return tx.Tasks().Create(&models.Task{UserID: "alice", Title: "batched"}).Error
	}}}, func() {
		go func() {
			done <- s.Tasks(context.Background(), "bob").Create(&models.Task{UserID: "bob", Title: "direct"}).Error
		}()
	})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the direct write never got the connection")
	}
	if a, b := titles(t, s, "alice"), titles(t, s, "bob"); len(a) != 1 || len(b) != 1 {
		t.Errorf("alice %v, bob %v", a, b)
	}
}

// TestGroupCommitFailedCommitFailsEveryone makes SQLite refuse the COMMIT
// (a deferred foreign key left dangling): every request of the batch gets
// the error, none of its rows exist, and the connection is not left inside
// the failed transaction, where later writes would never commit.
func TestGroupCommitFailedCommitFailsEveryone(t *testing.T) {
	db, path := openSQLite(t)
	for _, ddl := range []string{
		"CREATE TABLE parents (id INTEGER PRIMARY KEY)",
		"CREATE TABLE children (parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)",
	} {
		if err := db.Exec(ddl).Error; err != nil {
			t.Fatal(err)
		}
	}
	s := NewStore(db)
	create := func(user, title string) func(Tx) error {
		return func(tx Tx) error { return tx.Tasks().Create(&models.Task{UserID: user, Title: title}).Error }
	}
	errs := oneBatch(t, s, []submission{
		{context.Background(), "alice", create("alice", "a1")},
		{context.Background(), "bob", func(tx Tx) error { return tx.tx.Exec("INSERT INTO children VALUES (42)").Error }},
		{context.Background(), "bob", create("bob", "b1")},
	}, nil)
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Errorf("request %d: got %v, want the COMMIT's foreign key error", i, err)
		}
	}
	if a, b := titles(t, s, "alice"), titles(t, s, "bob"); len(a)+len(b) != 0 {
		t.Errorf("rows of a failed batch: alice %v, bob %v", a, b)
	}
	// A later write is committed: another connection to the file sees it.
	if err := s.Tasks(context.Background(), "carol").Create(&models.Task{UserID: "carol", Title: "later"}).Error; err != nil {
		t.Fatal(err)
	}
	other, err := gorm.Open(sqlite.Open(sqliteDSN(path)), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(other) })
	var n int64
	if err := other.Model(&models.Task{}).Where("user_id = ?", "carol").Count(&n).Error; err != nil || n != 1 {
		t.Errorf("another connection sees %d of carol's tasks (%v): the write after the failed batch did not commit", n, err)
	}
}
