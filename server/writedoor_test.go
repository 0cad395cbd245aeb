package server_test

import (
	"context"
	"regexp"
	"sync"
	"testing"

	"gorm.io/gorm"

	"todo-api/database"
	"todo-api/models"
)

// writeDoor records every statement that changes the tasks or lists table without
// coming through database.Store.Write, the one door for changes. Every env
// watches its app's database with one, and a test that saw such a write
// fails at its end: so the whole integration suite, on both databases, is
// the proof that no handler writes around the door.
type writeDoor struct {
	mu      sync.Mutex
	outside []string
}

type fixtureKey struct{}

// fixture is the database handle for a test's own setup writes (backdating
// rows, planting legacy values), which the write-door check lets through.
func (e *env) fixture() *gorm.DB {
	return e.db.WithContext(context.WithValue(context.Background(), fixtureKey{}, true))
}

// writesTasks matches raw SQL that changes the tasks or lists table.
var writesTasks = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(tasks|lists)"?\b`)

// watchWriteDoor registers the check on db's callbacks.
func watchWriteDoor(t *testing.T, db *gorm.DB) *writeDoor {
	t.Helper()
	w := &writeDoor{}
	check := func(raw bool) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			st := tx.Statement
			ctx := st.Context
			if ctx != nil && (database.InWriteDoor(ctx) || ctx.Value(fixtureKey{}) != nil) {
				return
			}
			table := st.Table
			if table == "" && st.Schema != nil {
				table = st.Schema.Table
			}
			if raw {
				if !writesTasks.MatchString(st.SQL.String()) {
					return
				}
			} else if table != "tasks" && table != "lists" {
				return
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			w.outside = append(w.outside, st.SQL.String()+table)
		}
	}
	const name = "test:write_door"
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:create").Register(name, check(false)),
		cb.Update().Before("gorm:update").Register(name, check(false)),
		cb.Delete().Before("gorm:delete").Register(name, check(false)),
		cb.Raw().Before("gorm:raw").Register(name, check(true)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if n := w.count(); n > 0 {
			t.Errorf("%d changes to tasks or lists did not go through Store.Write: %q", n, w.outside)
		}
	})
	return w
}

func (w *writeDoor) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.outside)
}

// TestWriteDoorSeesOutsideWrites shows that the check counts: a change made
// through the read door, or on the raw handle, is recorded, and one made
// through Store.Write is not.
func TestWriteDoorSeesOutsideWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		store := database.NewStore(e.appDB)
		ctx := context.Background()
		if err := store.Write(ctx, "alice", func(tx database.Tx) error {
			return tx.Tasks().Create(&models.Task{UserID: "alice", Title: "through the door"}).Error
		}); err != nil {
			t.Fatal(err)
		}
		if n := e.writeDoor.count(); n != 0 {
			t.Fatalf("a write through the door was recorded (%d)", n)
		}
		if err := store.Tasks(ctx, "alice").Create(&models.Task{UserID: "alice", Title: "around it"}).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.appDB.Exec("UPDATE tasks SET title = 'raw' WHERE user_id = 'alice'").Error; err != nil {
			t.Fatal(err)
		}
		if err := store.Lists(ctx, "alice").Create(&models.List{UserID: "alice", Name: "around it"}).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.appDB.Exec("UPDATE lists SET name = 'raw' WHERE user_id = 'alice'").Error; err != nil {
			t.Fatal(err)
		}
		if n := e.writeDoor.count(); n != 4 {
			t.Fatalf("recorded %d writes around the door, want 4", n)
		}
		// This test made them on purpose.
		e.writeDoor.mu.Lock()
		e.writeDoor.outside = nil
		e.writeDoor.mu.Unlock()
	})
}
