package models

import (
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The scopes below are every condition a task statement may carry besides
// OwnedBy. Each adds its own Where, which GORM joins with AND, and the one
// OR (the search) is inside parentheses, so no scope can widen the user
// scope. Their SQL is fixed text; client values are only ever bound as
// parameters.

// TaskID narrows a statement to the task with this id.
func TaskID(id int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where("tasks.id = ?", id) }
}

// AtVersion narrows a write to the task while it is at one of versions: an
// If-Match check inside the write's own WHERE clause, so that the check and
// the change are one step and no other write can slip in between them.
// No versions matches nothing.
func AtVersion(versions []int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if len(versions) == 0 {
			return db.Where("1 = 0")
		}
		return db.Where("tasks.version IN ?", versions)
	}
}

// NotRecurring narrows a statement to tasks that do not repeat.
func NotRecurring(db *gorm.DB) *gorm.DB { return db.Where("tasks.recurrence IS NULL") }

// CompletedOnly narrows a statement to completed tasks.
func CompletedOnly(db *gorm.DB) *gorm.DB { return db.Where("tasks.completed = ?", true) }

// CompletedColumns is the part of an update's column map that sets
// completed: completed_at keeps its first value while the task stays
// completed and is cleared when it is reopened; both take the same reading
// of the clock as updated_at.
func CompletedColumns(completed bool, now time.Time) map[string]any {
	if completed {
		return map[string]any{"completed": true, "completed_at": gorm.Expr("COALESCE(completed_at, ?)", now), "updated_at": now}
	}
	return map[string]any{"completed": false, "completed_at": nil, "updated_at": now}
}

// ToggleColumns is the column map that flips completed in the statement
// itself, so that two toggles never both read the same state.
func ToggleColumns(now time.Time) map[string]any {
	return map[string]any{
		"completed": gorm.Expr("NOT completed"),
		// COALESCE lets PostgreSQL infer the parameter's type from the
		// column; completed_at is always NULL while the task is pending.
		"completed_at": gorm.Expr("CASE WHEN completed THEN NULL ELSE COALESCE(completed_at, ?) END", now),
		"updated_at":   now,
	}
}

// Status values of TaskFilter.
const (
	StatusAll       = "all"
	StatusPending   = "pending"
	StatusCompleted = "completed"
)

// TaskFilter is a validated list filter; the zero value matches every task.
type TaskFilter struct {
	Status     string   // StatusAll (or ""), StatusPending or StatusCompleted
	Priorities []string // any of these; empty means any priority
	Tags       []string // normalised; a task must carry every one
	Search     string   // substring of title or description, any case
	DueBefore  *time.Time
	DueAfter   *time.Time
	// Overdue keeps pending tasks due before Now.
	Overdue bool
	Now     time.Time
	// InList keeps the tasks of list ListID (nil: the inbox).
	InList bool
	ListID *int64
	// UnderParent keeps the subtasks of ParentID (nil: top-level tasks).
	UnderParent bool
	ParentID    *int64
	// ReminderPending keeps tasks whose reminder is armed (ArmedReminder).
	ReminderPending bool
}

// Scope adds the filter's conditions to a task statement.
func (f TaskFilter) Scope(db *gorm.DB) *gorm.DB {
	if f.InList {
		db = ListTasks(f.ListID)(db)
	}
	if f.UnderParent {
		if f.ParentID == nil {
			db = db.Where("tasks.parent_id IS NULL")
		} else {
			db = SubtasksOf(*f.ParentID)(db)
		}
	}
	switch f.Status {
	case StatusPending:
		db = db.Where("tasks.completed = ?", false)
	case StatusCompleted:
		db = db.Where("tasks.completed = ?", true)
	}
	if len(f.Priorities) > 0 {
		db = db.Where("tasks.priority IN ?", f.Priorities)
	}
	if len(f.Tags) > 0 {
		db = hasAllTags(db, f.Tags)
	}
	if f.Search != "" {
		// LOWER on both sides, so that each database folds case the same
		// way for the text and the pattern; '!' escapes the wildcards.
		pattern := "%" + escapeLike(f.Search) + "%"
		db = db.Where("(LOWER(tasks.title) LIKE LOWER(?) ESCAPE '!' OR LOWER(tasks.description) LIKE LOWER(?) ESCAPE '!')", pattern, pattern)
	}
	if f.DueBefore != nil {
		db = db.Where("tasks.due_date <= ?", *f.DueBefore)
	}
	if f.DueAfter != nil {
		db = db.Where("tasks.due_date >= ?", *f.DueAfter)
	}
	if f.ReminderPending {
		db = ReminderPending(db)
	}
	if f.Overdue {
		if f.Status != StatusPending {
			db = db.Where("tasks.completed = ?", false)
		}
		db = db.Where("tasks.due_date < ?", f.Now)
	}
	return db
}

// hasAllTags is the condition "the task carries every one of tags", the one
// place where SQL differs between the databases. On PostgreSQL it is one
// jsonb containment test, which the GIN index idx_tasks_tags
// (jsonb_path_ops) serves. SQLite has no such index; it checks each tag
// with json_each on the rows the user scope selected.
func hasAllTags(db *gorm.DB, tags []string) *gorm.DB {
	if db.Dialector.Name() == "postgres" {
		doc, _ := json.Marshal(tags) // a []string always encodes
		return db.Where("tasks.tags @> CAST(? AS jsonb)", string(doc))
	}
	for _, t := range tags {
		db = db.Where("EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE json_each.value = ?)", t)
	}
	return db
}

// escapeLike makes %, _ and the escape character itself literal in a LIKE
// pattern that uses ESCAPE '!'.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// SortKeys are the keys TaskOrder accepts, each with its default direction
// (true: descending).
var SortKeys = map[string]bool{
	"created": true, "updated": true, "title": false, "due_date": false, "priority": false, "position": false,
}

// TaskOrder sorts a list by one of SortKeys.
type TaskOrder struct {
	Key  string
	Desc bool
}

// Scope sorts by the key, then by id in the same direction, so that equal
// keys keep one order and pages neither repeat nor skip a task. The
// expressions are fixed strings chosen by the whitelisted key.
func (o TaskOrder) Scope(db *gorm.DB) *gorm.DB {
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	switch o.Key {
	case "created":
		db = db.Order("tasks.created_at" + dir)
	case "updated":
		db = db.Order("tasks.updated_at" + dir)
	case "title":
		db = db.Order("LOWER(tasks.title)" + dir)
	case "due_date":
		// Tasks without a due date come last in both directions.
		db = db.Order("tasks.due_date" + dir + " NULLS LAST")
	case "priority":
		db = db.Order("CASE tasks.priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END" + dir)
	case "position":
		// The manual order; equal keys (two moves into one gap at once)
		// fall back to id, so every reader sees the same order.
		db = db.Order("tasks.position" + dir)
	}
	return db.Order("tasks.id" + dir)
}

// deepOffset is where Page stops sorting whole rows: from here on it sorts
// only ids and sort keys, then reads the page's rows by id.
const deepOffset = 1000

// Page is a list page: the tasks (TaskColumns) that f selects in order o,
// each row with the number of all tasks f matches — a scalar subquery the
// database runs once, so the page and its total come from one statement and
// one snapshot. tasks starts a statement on the user's tasks; Page calls it
// for each (sub)statement.
//
// A deep page (offset ≥ deepOffset) is found by a subquery that sorts only
// ids and sort keys: sorting whole rows to skip tens of thousands of them
// held every skipped row's text in memory, which on SQLite (sorting in
// memory, temp_store) grew the process by hundreds of MiB for one request.
func Page(tasks func() *gorm.DB, f TaskFilter, o TaskOrder, limit, offset int) *gorm.DB {
	count := tasks().Scopes(f.Scope).Select("COUNT(*)")
	page := tasks().Scopes(o.Scope).Select(TaskColumns+", (?) AS total_count", count)
	if offset < deepOffset {
		return page.Scopes(f.Scope).Limit(limit).Offset(offset)
	}
	ids := tasks().Scopes(f.Scope, o.Scope).Select("tasks.id").Limit(limit).Offset(offset)
	return page.Where("tasks.id IN (?)", ids)
}

// Stats are a user's task counts.
type Stats struct {
	Total     int64 `json:"total"`
	Pending   int64 `json:"pending"`
	Completed int64 `json:"completed"`
	Overdue   int64 `json:"overdue"`
	DueToday  int64 `json:"due_today"`
	// RemindersPending counts armed reminders (ArmedReminder).
	RemindersPending int64 `json:"reminders_pending"`
}

// CountStats counts the tasks db selects in one statement: overdue is
// pending tasks due before now, due_today pending tasks due in [dayStart,
// dayEnd).
func CountStats(db *gorm.DB, now, dayStart, dayEnd time.Time) (Stats, error) {
	var s Stats
	err := db.Select(`COUNT(*) AS total,
		COALESCE(SUM(CASE WHEN tasks.completed THEN 0 ELSE 1 END), 0) AS pending,
		COALESCE(SUM(CASE WHEN tasks.completed THEN 1 ELSE 0 END), 0) AS completed,
		COALESCE(SUM(CASE WHEN NOT tasks.completed AND tasks.due_date < ? THEN 1 ELSE 0 END), 0) AS overdue,
		COALESCE(SUM(CASE WHEN NOT tasks.completed AND tasks.due_date >= ? AND tasks.due_date < ? THEN 1 ELSE 0 END), 0) AS due_today,
		COALESCE(SUM(CASE WHEN `+ArmedReminder+` THEN 1 ELSE 0 END), 0) AS reminders_pending`,
		now, dayStart, dayEnd).Scan(&s).Error
	return s, err
}

// contentColumns are the task columns a client edits, in a fixed order.
var contentColumns = []string{"title", "description", "completed", "priority", "tags", "due_date", "recurrence", "list_id", "parent_id", "remind_at"}

// Changes narrows an update to a task that it would change: one whose value
// differs from cols in at least one edited column. An update that would
// store what is there already then matches no row, so it writes nothing —
// same version, same updated_at, same ETag — and the caller answers with
// the task as it is. A column set by an expression (the toggle's flip)
// always changes.
func Changes(cols map[string]any) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		var conds []string
		var args []any
		for _, c := range contentColumns {
			v, ok := cols[c]
			if !ok {
				continue
			}
			if _, expr := v.(clause.Expr); expr {
				return db
			}
			if c == "tags" && db.Dialector.Name() == "postgres" {
				tags, _ := v.(Tags).Value() // a Tags always encodes
				conds = append(conds, "tasks.tags IS DISTINCT FROM CAST(? AS jsonb)")
				args = append(args, tags)
				continue
			}
			conds = append(conds, "tasks."+c+" IS DISTINCT FROM ?")
			args = append(args, v)
		}
		if len(conds) == 0 {
			return db
		}
		return db.Where("("+strings.Join(conds, " OR ")+")", args...)
	}
}
