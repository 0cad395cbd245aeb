package database

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"todo-api/config"
	"todo-api/internal/testpg"
	"todo-api/models"
)

func TestMain(m *testing.M) { os.Exit(testpg.Run(m)) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// rlsDatabases sets a fresh database up as the README says: the owner (here
// the test server's superuser) migrates with DB_ROW_LEVEL_SECURITY=on, then
// the service connects as testpg.AppRole, which owns nothing. It returns
// the owner's handle (for setup and inspection: a superuser bypasses
// row-level security) and the service's.
func rlsDatabases(t *testing.T) (owner, app *gorm.DB) {
	t.Helper()
	dsn := testpg.NewDatabase(t)
	owner, err := Open(config.Database{Driver: config.Postgres, DSN: dsn, RowLevelSecurity: true}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(owner) })
	app, err = Open(config.Database{Driver: config.Postgres, DSN: testpg.AppRoleURL(t, dsn), RowLevelSecurity: true}, time.Now, discard)
	if err != nil {
		t.Fatalf("the service role cannot start: %v", err)
	}
	t.Cleanup(func() { _ = Close(app) })
	return owner, app
}

func seedTasks(t *testing.T, s *Store, users ...string) {
	t.Helper()
	for _, u := range users {
		for i := 0; i < 3; i++ {
			if err := s.Tasks(context.Background(), u).Create(&models.Task{UserID: u, Title: fmt.Sprintf("%s %d", u, i)}).Error; err != nil {
				t.Fatalf("create for %s: %v", u, err)
			}
		}
	}
}

func owners(t *testing.T, q *gorm.DB) []string {
	t.Helper()
	var tasks []models.Task
	if err := q.Order("id").Find(&tasks).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(tasks))
	for i, tk := range tasks {
		out[i] = tk.UserID
	}
	return out
}

// TestRowLevelSecurityIsASecondLock writes the queries the user scope exists
// to prevent — no WHERE user_id at all — through the service's role, and
// shows that the database itself keeps them to the user whose statement it
// is, and to nobody when no user is set.
func TestRowLevelSecurityIsASecondLock(t *testing.T) {
	owner, app := rlsDatabases(t)
	store := NewStore(app)
	seedTasks(t, store, "alice", "bob")
	ctx := context.Background()
	asAlice := app.WithContext(withUser(ctx, "alice"))

	if got := owners(t, owner.Model(&models.Task{})); len(got) != 6 {
		t.Fatalf("the owner sees %v", got)
	}
	t.Run("unscoped SELECT without a user finds nothing", func(t *testing.T) {
		if got := owners(t, app.Model(&models.Task{})); len(got) != 0 {
			t.Errorf("sees %v", got)
		}
		var n int64
		if err := app.Raw("SELECT count(*) FROM tasks").Scan(&n).Error; err != nil || n != 0 {
			t.Errorf("raw count %d, %v", n, err)
		}
	})
	t.Run("unscoped SELECT for alice finds only alice's", func(t *testing.T) {
		if got := owners(t, asAlice.Model(&models.Task{})); strings.Join(got, ",") != "alice,alice,alice" {
			t.Errorf("sees %v", got)
		}
	})
	t.Run("a scope dropped with NewDB keeps the user's lock", func(t *testing.T) {
		forgot := store.Tasks(ctx, "alice").Session(&gorm.Session{NewDB: true}).Model(&models.Task{})
		if got := owners(t, forgot); strings.Join(got, ",") != "alice,alice,alice" {
			t.Errorf("sees %v", got)
		}
	})
	t.Run("unscoped UPDATE and DELETE reach only alice's rows", func(t *testing.T) {
		res := asAlice.Model(&models.Task{}).Where("1 = 1").Updates(map[string]any{"title": "renamed"})
		if res.Error != nil || res.RowsAffected != 3 {
			t.Fatalf("update: %d %v", res.RowsAffected, res.Error)
		}
		res = app.Model(&models.Task{}).Where("1 = 1").Updates(map[string]any{"title": "nobody"})
		if res.Error != nil || res.RowsAffected != 0 {
			t.Fatalf("update without a user: %d %v", res.RowsAffected, res.Error)
		}
		if res := app.Where("1 = 1").Delete(&models.Task{}); res.Error != nil || res.RowsAffected != 0 {
			t.Fatalf("delete without a user: %d %v", res.RowsAffected, res.Error)
		}
		var bobs int64
		owner.Model(&models.Task{}).Where("user_id = ? AND title LIKE ?", "bob", "bob %").Count(&bobs)
		if bobs != 3 {
			t.Errorf("bob's tasks changed: %d left as they were", bobs)
		}
	})
	t.Run("a row for another user cannot be written", func(t *testing.T) {
		err := asAlice.Create(&models.Task{UserID: "bob", Title: "planted"}).Error
		if err == nil || !strings.Contains(err.Error(), "row-level security") {
			t.Errorf("insert for bob as alice: %v", err)
		}
		res := asAlice.Model(&models.Task{}).Where("1 = 1").Updates(map[string]any{"user_id": "bob"})
		if res.Error == nil || !strings.Contains(res.Error.Error(), "row-level security") {
			t.Errorf("moving alice's rows to bob: %d %v", res.RowsAffected, res.Error)
		}
		if err := app.Create(&models.Task{UserID: "bob", Title: "planted"}).Error; err == nil {
			t.Error("insert without a user succeeded")
		}
	})
	t.Run("inside a transaction", func(t *testing.T) {
		err := store.Write(ctx, "bob", func(tx Tx) error {
			if got := owners(t, tx.tx.Model(&models.Task{})); strings.Join(got, ",") != "bob,bob,bob" {
				t.Errorf("unscoped in bob's transaction sees %v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = store.Write(ctx, "bob", func(tx Tx) error {
			return tx.tx.Create(&models.Task{UserID: "alice", Title: "planted"}).Error
		})
		if err == nil {
			t.Error("bob's transaction wrote alice a task")
		}
	})
	t.Run("the setting ends with its statement", func(t *testing.T) {
		// One connection: the next statement runs where alice's did.
		sqlDB, _ := app.DB()
		sqlDB.SetMaxOpenConns(1)
		defer sqlDB.SetMaxOpenConns(20)
		for i := 0; i < 3; i++ {
			if got := owners(t, asAlice.Model(&models.Task{})); len(got) != 3 {
				t.Fatalf("alice sees %v", got)
			}
			if got := owners(t, app.Model(&models.Task{})); len(got) != 0 {
				t.Fatalf("after alice's statement, an unscoped one sees %v", got)
			}
			_ = store.Write(ctx, "alice", func(Tx) error { return nil })
			if got := owners(t, app.Model(&models.Task{})); len(got) != 0 {
				t.Fatalf("after alice's transaction, an unscoped one sees %v", got)
			}
		}
	})
	t.Run("many users at once", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := fmt.Sprintf("u%d", i%4)
				for j := 0; j < 20; j++ {
					if err := store.Tasks(ctx, u).Create(&models.Task{UserID: u, Title: "x"}).Error; err != nil {
						t.Error(err)
						return
					}
					for _, o := range owners(t, app.WithContext(withUser(ctx, u)).Model(&models.Task{})) {
						if o != u {
							t.Errorf("%s sees a task of %s", u, o)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
	})
}

// TestRowLevelSecurityPurge: the janitor, which runs for no user, deletes
// every user's expired idempotency records and nothing else, and what lets
// it do so reveals nothing to a query that forgot its scope.
func TestRowLevelSecurityPurge(t *testing.T) {
	owner, app := rlsDatabases(t)
	now := time.Now().UTC()
	for _, rec := range []models.IdempotencyKey{
		{UserID: "alice", Key: "old", RequestHash: "h", Status: 201, CreatedAt: now.Add(-25 * time.Hour)},
		{UserID: "bob", Key: "old", RequestHash: "h", Status: 201, CreatedAt: now.Add(-48 * time.Hour)},
		{UserID: "alice", Key: "new", RequestHash: "h", Status: 201, CreatedAt: now.Add(-time.Hour)},
	} {
		if err := owner.Create(&rec).Error; err != nil {
			t.Fatal(err)
		}
	}
	var seen []models.IdempotencyKey
	if err := app.Find(&seen).Error; err != nil || len(seen) != 0 {
		t.Fatalf("unscoped read of idempotency records: %d rows, %v", len(seen), err)
	}
	n, err := PurgeIdempotencyKeys(context.Background(), app, now) // even a cutoff of now
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v", n, err)
	}
	var left []models.IdempotencyKey
	owner.Find(&left)
	if len(left) != 1 || left[0].Key != "new" {
		t.Errorf("left %+v", left)
	}
}

// TestRowLevelSecurityOffRefusesToStart: turning the setting off does not
// turn the policies off; a role they bind would find nothing, so the
// service says so at start-up instead.
func TestRowLevelSecurityOffRefusesToStart(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	owner, err := Open(config.Database{Driver: config.Postgres, DSN: dsn, RowLevelSecurity: true}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(owner)
	appURL := testpg.AppRoleURL(t, dsn)
	_, err = Open(config.Database{Driver: config.Postgres, DSN: appURL}, time.Now, discard)
	if err == nil || !strings.Contains(err.Error(), "DB_ROW_LEVEL_SECURITY is off") {
		t.Fatalf("started with the setting off: %v", err)
	}
	// The superuser is not bound, so it may run with the setting off.
	db, err := Open(config.Database{Driver: config.Postgres, DSN: dsn}, time.Now, discard)
	if err != nil {
		t.Fatalf("the superuser with the setting off: %v", err)
	}
	_ = Close(db)
}

// TestRowLevelSecurityExecModes runs the driver's batches in each of pgx's
// query modes (chosen with default_query_exec_mode in the URL): a pooler
// setup may need another than the default, and each sends a batch
// differently (prepared and cached, described, unnamed, or one simple
// query). Every column type of the schema must come back as it went in.
func TestRowLevelSecurityExecModes(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	owner, err := Open(config.Database{Driver: config.Postgres, DSN: dsn, RowLevelSecurity: true}, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(owner)
	appURL := testpg.AppRoleURL(t, dsn)
	for _, mode := range config.QueryExecModes {
		t.Run(mode, func(t *testing.T) {
			app, err := Open(config.Database{Driver: config.Postgres, DSN: appURL + "&default_query_exec_mode=" + mode, RowLevelSecurity: true}, time.Now, discard)
			if err != nil {
				t.Fatal(err)
			}
			defer Close(app)
			store, ctx := NewStore(app), context.Background()
			user := "user-" + mode
			desc, due, rec := "d\n'\"", time.Date(2026, 12, 1, 17, 0, 0, 123456000, time.UTC), models.Weekly
			in := models.Task{UserID: user, Title: "t ünï 👍", Description: &desc, Priority: models.PriorityHigh,
				Tags: models.Tags{"a", "b"}, DueDate: &due, Recurrence: &rec}
			if err := store.Tasks(ctx, user).Create(&in).Error; err != nil {
				t.Fatal(err)
			}
			var out models.Task
			if err := store.Tasks(ctx, user).Where("tasks.id = ?", in.ID).Take(&out).Error; err != nil {
				t.Fatal(err)
			}
			if out.Title != in.Title || *out.Description != desc || !out.DueDate.Equal(due) || strings.Join(out.Tags, ",") != "a,b" ||
				*out.Recurrence != rec || out.Priority != in.Priority || out.Version != 1 || !out.CreatedAt.Equal(in.CreatedAt) {
				t.Errorf("stored %+v, read %+v", in, out)
			}
			var updated models.Task
			res := store.Tasks(ctx, user).Model(&updated).Where("tasks.id = ?", in.ID).
				Clauses(clause.Returning{}).Updates(map[string]any{"completed": true, "completed_at": time.Now()})
			if res.Error != nil || res.RowsAffected != 1 || !updated.Completed || updated.Version != 2 {
				t.Errorf("update: %d %v %+v", res.RowsAffected, res.Error, updated)
			}
			var counts struct{ Total, Done int64 }
			err = store.Tasks(ctx, user).Select("COUNT(*) AS total, COALESCE(SUM(CASE WHEN tasks.completed THEN 1 ELSE 0 END), 0) AS done").Scan(&counts).Error
			if err != nil || counts.Total != 1 || counts.Done != 1 {
				t.Errorf("counts %+v %v", counts, err)
			}
			err = store.Write(ctx, user, func(tx Tx) error {
				var all []models.Task
				if err := tx.tx.Model(&models.Task{}).Find(&all).Error; err != nil || len(all) != 1 {
					return fmt.Errorf("unscoped in the transaction: %d rows, %v", len(all), err)
				}
				return tx.Tasks().Where("tasks.id = ?", in.ID).Delete(&models.Task{}).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := owners(t, app.Model(&models.Task{})); len(got) != 0 {
				t.Errorf("unscoped without a user sees %v", got)
			}
		})
	}
}
