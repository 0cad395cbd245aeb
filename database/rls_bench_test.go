package database

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"todo-api/config"
	"todo-api/internal/testpg"
	"todo-api/models"
)

// BenchmarkRowLevelSecurity times the statements of a toggle and of a list
// page, one at a time on one connection, with row-level security off (the
// owner, no driver wrapper), on but not binding (a superuser: only the
// batching costs), and on as a role the policies bind.
//
//	REQUIRE_POSTGRES=1 go test -run '^$' -bench RowLevelSecurity -benchtime 3000x ./database
func BenchmarkRowLevelSecurity(b *testing.B) {
	dsn := testpg.NewDatabase(b)
	owner, err := Open(config.Database{Driver: config.Postgres, DSN: dsn, RowLevelSecurity: true}, time.Now, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer Close(owner)
	for u := 0; u < 50; u++ {
		user := string(rune('a'+u%26)) + string(rune('a'+u/26))
		for i := 0; i < 100; i++ {
			owner.Create(&models.Task{UserID: user, Title: "t"})
		}
	}
	owner.Exec("ANALYZE tasks")
	var id int64
	owner.Model(&models.Task{}).Where("user_id = ?", "aa").Select("min(id)").Scan(&id)
	appURL := testpg.AppRoleURL(b, dsn)
	for _, mode := range []struct {
		name string
		cfg  config.Database
	}{
		{"off", config.Database{Driver: config.Postgres, DSN: dsn}},
		{"on-superuser", config.Database{Driver: config.Postgres, DSN: dsn, RowLevelSecurity: true}},
		{"on-app-role", config.Database{Driver: config.Postgres, DSN: appURL, RowLevelSecurity: true}},
	} {
		db, err := Open(mode.cfg, time.Now, discard)
		if err != nil {
			b.Fatal(err)
		}
		sqlDB, _ := db.DB()
		sqlDB.SetMaxOpenConns(1)
		store := NewStore(db)
		ctx := context.Background()
		b.Run("toggle/"+mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var t models.Task
				res := store.Tasks(ctx, "aa").Model(&t).Where("tasks.id = ?", id).Where("tasks.recurrence IS NULL").
					Clauses(clause.Returning{}).Updates(map[string]any{"completed": gorm.Expr("NOT completed"), "updated_at": time.Now()})
				if res.Error != nil || res.RowsAffected != 1 {
					b.Fatal(res.RowsAffected, res.Error)
				}
			}
		})
		b.Run("list/"+mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var tasks []models.Task
				if err := store.Tasks(ctx, "aa").Order("tasks.created_at DESC").Order("tasks.id DESC").Limit(50).Find(&tasks).Error; err != nil || len(tasks) != 50 {
					b.Fatal(len(tasks), err)
				}
			}
		})
		_ = Close(db)
	}
}
