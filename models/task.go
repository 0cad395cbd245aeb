// Package models holds the persisted types and the one scope that binds task
// queries to their owner.
package models

import (
	"errors"
	"strconv"
	"time"

	"gorm.io/gorm"

	"todo-api/internal/orderkey"
)

// Priority orders tasks; the zero value is not valid, DefaultPriority is.
type Priority string

// Priorities a task may have.
const (
	PriorityLow     Priority = "low"
	PriorityMedium  Priority = "medium"
	PriorityHigh    Priority = "high"
	DefaultPriority          = PriorityMedium
)

// Recurrence is how often a task repeats once completed.
type Recurrence string

// Recurrences a task may have; a nil *Recurrence means it does not repeat.
const (
	Daily   Recurrence = "daily"
	Weekly  Recurrence = "weekly"
	Monthly Recurrence = "monthly"
)

// Task is one row of the tasks table. Columns new since the benchmark's
// contract table carry defaults so that auto-migration can add them to a table
// that already holds rows.
//
// (user_id, id) is unique so that subtasks can reference their parent
// together with their own user_id, as tasks reference their list (the
// composite foreign keys in database/migrate.go). idx_tasks_user_list
// serves a list's tasks in manual order; idx_tasks_user_parent, partial,
// serves a parent's subtasks and the cascade of its delete, at no cost to
// top-level tasks.
type Task struct {
	ID          int64       `gorm:"primaryKey;index:idx_tasks_user_created,priority:3,sort:desc;uniqueIndex:idx_tasks_user_id,priority:2;index:idx_tasks_user_list,priority:4"`
	UserID      string      `gorm:"type:text;not null;index:idx_tasks_user_created,priority:1;index:idx_tasks_user_due,priority:1;uniqueIndex:idx_tasks_user_id,priority:1;index:idx_tasks_user_list,priority:1;index:idx_tasks_user_parent,priority:1,where:parent_id IS NOT NULL"`
	Title       string      `gorm:"type:varchar(200);not null"`
	Description *string     `gorm:"type:text"`
	Completed   bool        `gorm:"not null;default:false"`
	CompletedAt *time.Time  ``
	Priority    Priority    `gorm:"type:text;not null;default:medium"`
	Tags        Tags        `gorm:"not null;default:'[]'"`
	DueDate     *time.Time  `gorm:"index:idx_tasks_user_due,priority:2"`
	Recurrence  *Recurrence `gorm:"type:text"`
	Version     int64       `gorm:"not null;default:1"`
	// NextTaskID is the occurrence that completing this recurring task
	// created. Once set it stays set, also when the task is reopened, so
	// that completing it again cannot create a second copy.
	NextTaskID *int64 ``
	// ListID is the task's list, nil for the inbox.
	ListID *int64 `gorm:"index:idx_tasks_user_list,priority:2"`
	// ParentID is the task this one is a step of, nil at top level.
	ParentID *int64 `gorm:"index:idx_tasks_user_parent,priority:2"`
	// Position orders the task among its siblings (same list and parent).
	// Rows made before lists existed get theirs at the upgrade; the
	// default only lets the migration add the column to them.
	Position OrderKey `gorm:"not null;default:'';index:idx_tasks_user_list,priority:3"`
	// RemindAt is when the owner wants to be reminded, nil for no reminder;
	// RemindedAt is when the scheduler fired it, nil until then. Only armed
	// reminders (set, not fired, task pending: ArmedReminder) are in
	// idx_tasks_remind, so the scheduler's look at what is due reads
	// what is due and nothing else, however many tasks have fired or
	// completed reminders.
	RemindAt   *time.Time `gorm:"index:idx_tasks_remind,where:remind_at IS NOT NULL AND reminded_at IS NULL AND NOT completed"`
	RemindedAt *time.Time ``
	// Timestamps are set by the hooks below from the database handle's clock,
	// not by GORM's own tracking, so that tests can fix the time.
	CreatedAt time.Time `gorm:"not null;autoCreateTime:false;index:idx_tasks_user_created,priority:2,sort:desc"`
	UpdatedAt time.Time `gorm:"not null;autoUpdateTime:false"`
}

// BeforeCreate stamps a new task: both times now, version 1.
func (t *Task) BeforeCreate(tx *gorm.DB) error {
	now := tx.NowFunc()
	t.CreatedAt, t.UpdatedAt = now, now
	t.Version = 1
	if t.Tags == nil {
		t.Tags = Tags{}
	}
	if t.Completed && t.CompletedAt == nil {
		t.CompletedAt = &now
	}
	if t.Position == "" {
		// New tasks go first among their siblings (see orderkey.ForTime).
		t.Position = OrderKey(orderkey.ForTime(now))
	}
	return nil
}

// ErrStructUpdate is returned when a task is updated from a struct instead of
// a column map: struct updates silently skip false, "" and nil.
var ErrStructUpdate = errors.New("tasks are updated with a column map")

// BeforeUpdate moves updated_at and bumps version on every change. Updates
// are column maps (see ErrStructUpdate), so the hook adds its columns to the
// map; an updated_at already there (one read of the clock shared with
// completed_at) is kept.
func (t *Task) BeforeUpdate(tx *gorm.DB) error {
	cols, ok := tx.Statement.Dest.(map[string]any)
	if !ok {
		return ErrStructUpdate
	}
	if _, ok := cols["updated_at"]; !ok {
		cols["updated_at"] = tx.NowFunc()
	}
	cols["version"] = gorm.Expr("version + 1")
	return nil
}

// TaskETag is the strong validator of a task at version, the REST API's
// ETag and If-Match: it changes exactly when the version does, and carries
// the id so that tags of different tasks never collide.
func TaskETag(id, version int64) string {
	return `"` + strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(version, 10) + `"`
}
