package database

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/internal/testpg"
	"todo-api/models"
)

// TestCostlyStatementTimeout: on PostgreSQL a costly read runs under a
// server-side statement_timeout of what is left of its deadline, and the
// setting ends with the statement (the next one, on the same single
// connection, runs without it); a read that is not costly never sets it.
func TestCostlyStatementTimeout(t *testing.T) {
	db, err := Open(config.Database{Driver: config.Postgres, DSN: testpg.NewDatabase(t)}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1) // every statement below on the same server connection

	show := func(ctx context.Context) string {
		t.Helper()
		var v string
		if err := db.WithContext(ctx).Raw("SHOW statement_timeout").Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want func(string) bool
	}{
		{"costly, with a deadline", Costly(ctx), func(v string) bool {
			ms, err := strconv.Atoi(strings.TrimSuffix(v, "ms"))
			return v == "5s" || (err == nil && ms > 4000 && ms <= 5000)
		}},
		{"the next statement", ctx, func(v string) bool { return v == "0" }},
		{"costly, no deadline", Costly(context.Background()), func(v string) bool { return v == "0" }},
	} {
		if got := show(tc.ctx); !tc.want(got) {
			t.Errorf("%s: statement_timeout %q", tc.name, got)
		}
	}

	// A costly statement that outlives its deadline ends then, as a 503.
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	began := time.Now()
	err = db.WithContext(Costly(short)).Exec("SELECT pg_sleep(3)").Error
	if err == nil || !Unavailable(err) || time.Since(began) > 2*time.Second {
		t.Errorf("a costly 3 s statement under a 300 ms deadline: %v after %v, want a 57014 (503) within it", err, time.Since(began))
	}
}

// TestSQLiteCostlyReaders: on SQLite a costly read of a user with more
// than smallUserTasks tasks has connections of its own, so it answers
// while the main connection is held by a write; a quick read, and a costly
// read of a user with few tasks, wait for the main connection.
func TestSQLiteCostlyReaders(t *testing.T) {
	db, err := Open(config.Database{Driver: config.SQLite, DSN: filepath.Join(t.TempDir(), "todo.db")}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	s := NewStore(db)
	sizes := map[string]int{"alice": 1, "bob": smallUserTasks + 1}
	for user, n := range sizes {
		if err := s.Write(context.Background(), user, func(tx Tx) error {
			rows := make([]models.Task, n)
			for i := range rows {
				rows[i] = models.Task{UserID: user, Title: user + "'s"}
			}
			return tx.Tasks().CreateInBatches(rows, 200).Error
		}); err != nil {
			t.Fatal(err)
		}
	}
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("UPDATE tasks SET title = title WHERE user_id = ?", "alice").Error; err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	defer close(release)

	count := func(ctx context.Context, user string) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		var n int64
		err := s.Tasks(ctx, user).Count(&n).Error
		return n, err
	}
	if n, err := count(Costly(context.Background()), "bob"); err != nil || n != int64(sizes["bob"]) {
		t.Errorf("bob's costly read while the main connection is held: %d, %v; want %d", n, err, sizes["bob"])
	}
	if _, err := count(Costly(context.Background()), "alice"); !Unavailable(err) {
		t.Errorf("alice's costly read (1 task) while the main connection is held: %v, want it to wait (deadline)", err)
	}
	for _, user := range []string{"alice", "bob"} {
		if _, err := count(context.Background(), user); !Unavailable(err) {
			t.Errorf("%s's quick read while the main connection is held: %v, want it to wait (deadline)", user, err)
		}
	}
}
