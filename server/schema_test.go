package server_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/testpg"
	"todo-api/models"
)

// tasksDDL is how the database itself describes the tasks table's foreign
// keys: pg_get_constraintdef on PostgreSQL, the CREATE TABLE text on SQLite.
func (e *env) tasksDDL(t *testing.T) string {
	t.Helper()
	var defs []string
	var err error
	if e.cfg.Database.Driver == config.Postgres {
		err = e.db.Raw(`SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = CAST('tasks' AS regclass) AND contype = 'f' ORDER BY conname`).Scan(&defs).Error
	} else {
		err = e.db.Raw("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'").Scan(&defs).Error
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(defs, "\n")
}

// TestSchemaRefusesOtherUsersRows is isolation's second lock: whatever the
// code does, the database refuses a task filed into another user's list or
// under another user's task, refuses to drop a list that holds tasks, and
// deletes a parent's subtasks with it. The statements go straight to the
// raw handle, past every check the API makes.
func TestSchemaRefusesOtherUsersRows(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ddl := e.tasksDDL(t)
		t.Logf("tasks foreign keys:\n%s", ddl)
		flat := strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(ddl, `"`, ""))), " ")
		for _, want := range []string{
			"fk_tasks_list foreign key (user_id, list_id) references lists",
			"fk_tasks_parent foreign key (user_id, parent_id) references tasks",
			"on delete cascade",
		} {
			if !strings.Contains(flat, want) {
				t.Errorf("no %q in the tasks DDL", want)
			}
		}
		db := e.fixture()
		aliceList := models.List{UserID: "alice", Name: "Alice's"}
		if err := db.Create(&aliceList).Error; err != nil {
			t.Fatal(err)
		}
		aliceTask := models.Task{UserID: "alice", Title: "parent", ListID: &aliceList.ID}
		if err := db.Create(&aliceTask).Error; err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			task models.Task
		}{
			{"bob's task in alice's list", models.Task{UserID: "bob", Title: "planted", ListID: &aliceList.ID}},
			{"bob's task under alice's task", models.Task{UserID: "bob", Title: "planted", ParentID: &aliceTask.ID}},
			{"a task in a list that does not exist", models.Task{UserID: "alice", Title: "x", ListID: ptr(aliceList.ID + 100)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := db.Create(&tc.task).Error; err == nil {
					t.Fatal("the database took it")
				}
			})
		}
		if err := db.Exec("UPDATE tasks SET user_id = 'bob' WHERE id = ?", aliceTask.ID).Error; err == nil {
			t.Error("a task moved to bob while in alice's list")
		}
		if err := db.Exec("DELETE FROM lists WHERE id = ?", aliceList.ID).Error; err == nil {
			t.Error("a list that holds a task was deleted")
		}
		sub := models.Task{UserID: "alice", Title: "step", ParentID: &aliceTask.ID, ListID: &aliceList.ID}
		if err := db.Create(&sub).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("DELETE FROM tasks WHERE id = ?", aliceTask.ID).Error; err != nil {
			t.Fatal(err)
		}
		var left int64
		db.Table("tasks").Where("id = ?", sub.ID).Count(&left)
		if left != 0 {
			t.Error("deleting the parent left its subtask")
		}
	})
}

// oldTask is the tasks table as main made it before lists existed (git
// show of models/task.go then): no list_id, parent_id or position.
type oldTask struct {
	ID          int64   `gorm:"primaryKey;index:idx_tasks_user_created,priority:3,sort:desc"`
	UserID      string  `gorm:"type:text;not null;index:idx_tasks_user_created,priority:1;index:idx_tasks_user_due,priority:1"`
	Title       string  `gorm:"type:varchar(200);not null"`
	Description *string `gorm:"type:text"`
	Completed   bool    `gorm:"not null;default:false"`
	CompletedAt *time.Time
	Priority    string      `gorm:"type:text;not null;default:medium"`
	Tags        models.Tags `gorm:"not null;default:'[]'"`
	DueDate     *time.Time  `gorm:"index:idx_tasks_user_due,priority:2"`
	Recurrence  *string     `gorm:"type:text"`
	Version     int64       `gorm:"not null;default:1"`
	NextTaskID  *int64
	CreatedAt   time.Time `gorm:"not null;autoCreateTime:false;index:idx_tasks_user_created,priority:2,sort:desc"`
	UpdatedAt   time.Time `gorm:"not null;autoUpdateTime:false"`
}

func (oldTask) TableName() string { return "tasks" }

// seedOldSchema makes db's tables as the previous release did and gives
// alice and bob tasks, alice's with two sharing a created_at (ties go by
// id, newest first), and one deleted so that its id is not reused. It
// returns each user's ids in the order the old default list showed them.
func seedOldSchema(t *testing.T, db *gorm.DB) map[string][]int64 {
	t.Helper()
	if err := db.AutoMigrate(&oldTask{}, &models.IdempotencyKey{}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []oldTask{
		{UserID: "alice", Title: "a1", CreatedAt: base},
		{UserID: "bob", Title: "b1", CreatedAt: base.Add(time.Minute)},
		{UserID: "alice", Title: "a2", CreatedAt: base.Add(2 * time.Minute)},
		{UserID: "alice", Title: "a3 tie", CreatedAt: base.Add(2 * time.Minute)},
		{UserID: "alice", Title: "a4", CreatedAt: base.Add(time.Hour), Completed: true},
		{UserID: "bob", Title: "b2", CreatedAt: base.Add(time.Hour)},
		{UserID: "alice", Title: "deleted", CreatedAt: base.Add(2 * time.Hour)},
	}
	for i := range rows {
		rows[i].UpdatedAt = rows[i].CreatedAt
		rows[i].Tags = models.Tags{}
		rows[i].Priority = "medium"
		rows[i].Version = 1
		if err := db.Create(&rows[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Delete(&oldTask{}, rows[6].ID).Error; err != nil {
		t.Fatal(err)
	}
	return map[string][]int64{
		"alice": {rows[4].ID, rows[3].ID, rows[2].ID, rows[0].ID},
		"bob":   {rows[5].ID, rows[1].ID},
	}
}

// TestUpgradeFromOldSchema starts the new binary's migration on a database
// the previous release made: every task lands in the inbox at top level,
// in the order the old default list showed (newest first), tasks created
// afterwards go before them, the new constraints hold, and ids of deleted
// tasks are not handed out again.
func TestUpgradeFromOldSchema(t *testing.T) {
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			if rlsMode() && driver == config.SQLite {
				t.Skip("TEST_ROW_LEVEL_SECURITY=on: PostgreSQL only")
			}
			var dsn string
			var raw *gorm.DB
			if driver == config.SQLite {
				dsn = filepath.Join(t.TempDir(), "old.db")
				db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
				if err != nil {
					t.Fatal(err)
				}
				raw = db
			} else {
				dsn = testpg.NewDatabase(t)
				raw = rawPostgres(t, dsn)
			}
			order := seedOldSchema(t, raw)
			if driver == config.SQLite {
				_ = database.Close(raw)
			}
			e := newEnv(t, driver, func(c *config.Config) { c.Database.DSN = dsn })
			if ddl := e.tasksDDL(t); !strings.Contains(ddl, "fk_tasks_list") || !strings.Contains(ddl, "fk_tasks_parent") {
				t.Errorf("upgraded table lacks its foreign keys:\n%s", ddl)
			}
			for user, want := range order {
				var got []task
				e.call("GET", "/api/"+user+"/tasks?sort=position", e.token(user), nil).decode(t, &got)
				if len(got) != len(want) {
					t.Fatalf("%s: %d tasks, want %d", user, len(got), len(want))
				}
				for i, g := range got {
					if g.ID != want[i] || g.ListID != nil || g.ParentID != nil || g.Position == "" {
						t.Errorf("%s[%d] = id %d list %v parent %v position %q; want id %d in the inbox at top level",
							user, i, g.ID, g.ListID, g.ParentID, g.Position, want[i])
					}
				}
			}
			fresh := e.create("alice", map[string]any{"title": "after the upgrade"})
			if fresh.ID <= order["alice"][0]+1 {
				t.Errorf("new task got id %d: the deleted task's id was handed out again", fresh.ID)
			}
			ids := e.call("GET", "/api/alice/tasks?sort=position", e.token("alice"), nil).ids(t, "alice")
			if ids[0] != fresh.ID {
				t.Errorf("a new task goes first; order %v", ids)
			}
		})
	}
}

// TestConcurrentUpgrade starts three instances at once on a database of
// the previous release: they upgrade it once, one after the other under
// the migration lock, and the tasks keep the order of the first.
func TestConcurrentUpgrade(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	order := seedOldSchema(t, rawPostgres(t, dsn))
	startConcurrently(t, dsn, 3)
	raw := rawPostgres(t, dsn)
	var fks int64
	raw.Raw("SELECT count(*) FROM pg_constraint WHERE conrelid = CAST('tasks' AS regclass) AND contype = 'f'").Scan(&fks)
	if fks != 2 {
		t.Errorf("%d foreign keys on tasks, want 2", fks)
	}
	var got []int64
	raw.Raw("SELECT id FROM tasks WHERE user_id = 'alice' ORDER BY position, id").Scan(&got)
	if len(got) != len(order["alice"]) {
		t.Fatalf("alice's tasks %v, want %v", got, order["alice"])
	}
	for i := range got {
		if got[i] != order["alice"][i] {
			t.Fatalf("alice's tasks %v, want %v", got, order["alice"])
		}
	}
}
