package models

import (
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// TaskColumns are the tasks table's columns in the order ScanTask reads
// them. Naming them, rather than tasks.*, keeps a cached statement
// description valid when a later migration adds a column.
const TaskColumns = "tasks.id, tasks.user_id, tasks.title, tasks.description, tasks.completed, " +
	"tasks.completed_at, tasks.priority, tasks.tags, tasks.due_date, tasks.recurrence, tasks.version, " +
	"tasks.next_task_id, tasks.created_at, tasks.updated_at, tasks.list_id, tasks.parent_id, tasks.position, " +
	"tasks.remind_at, tasks.reminded_at"

// ScanTask reads one row of TaskColumns, followed by extra columns into
// extra, into t. It is what GORM's Find does for a task, without its
// per-field reflection, which profiles of the list showed as the largest
// single cost of a request; nullable columns go through sql.Null* so that
// database/sql takes its direct conversions too.
func ScanTask(rows *sql.Rows, t *Task, extra ...any) error {
	var (
		desc, priority, recurrence sql.NullString
		completedAt, due           sql.NullTime
		remindAt, remindedAt       sql.NullTime
		next, list, parent         sql.NullInt64
	)
	dest := make([]any, 0, 19+len(extra))
	dest = append(dest, &t.ID, &t.UserID, &t.Title, &desc, &t.Completed, &completedAt, &priority, &t.Tags,
		&due, &recurrence, &t.Version, &next, &t.CreatedAt, &t.UpdatedAt, &list, &parent, &t.Position,
		&remindAt, &remindedAt)
	if err := rows.Scan(append(dest, extra...)...); err != nil {
		return err
	}
	t.Description = nil
	if desc.Valid {
		t.Description = &desc.String
	}
	t.CompletedAt = nil
	if completedAt.Valid {
		t.CompletedAt = &completedAt.Time
	}
	t.Priority = Priority(priority.String)
	t.DueDate = nil
	if due.Valid {
		t.DueDate = &due.Time
	}
	t.Recurrence = nil
	if recurrence.Valid {
		r := Recurrence(recurrence.String)
		t.Recurrence = &r
	}
	t.RemindAt = nullTime(remindAt)
	t.RemindedAt = nullTime(remindedAt)
	t.NextTaskID = nullID(next)
	t.ListID = nullID(list)
	t.ParentID = nullID(parent)
	return nil
}

func nullTime(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	return &n.Time
}

func nullID(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// FirstTask reads the first task db selects, with ScanTask rather than
// GORM's Take, which costs more than the query on the hot path of a get.
// It returns nil and no error when db selects none.
func FirstTask(db *gorm.DB) (*Task, error) {
	rows, err := db.Select(TaskColumns).Limit(1).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var t Task
	if err := ScanTask(rows, &t); err != nil {
		return nil, err
	}
	return &t, rows.Close()
}

// PageRow is a task of a list page with the number of tasks its filter
// matches (see Page).
type PageRow struct {
	Task
	TotalCount int64
}

// ScanPage runs a statement built with Page and reads its rows.
func ScanPage(db *gorm.DB, limit int) ([]PageRow, error) {
	rows, err := db.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]PageRow, 0, limit)
	for rows.Next() {
		page = append(page, PageRow{})
		r := &page[len(page)-1]
		if err := ScanTask(rows, &r.Task, &r.TotalCount); err != nil {
			return nil, err
		}
	}
	return page, rows.Err()
}
