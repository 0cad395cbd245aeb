package models

import (
	"strings"

	"gorm.io/gorm"
)

// ListID narrows a statement to the list with this id.
func ListID(id int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where("lists.id = ?", id) }
}

// ListAtVersion is AtVersion for lists.
func ListAtVersion(versions []int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if len(versions) == 0 {
			return db.Where("1 = 0")
		}
		return db.Where("lists.version IN ?", versions)
	}
}

// listColumns are the lists table's columns with the two counts, each a
// correlated subquery that idx_tasks_user_list answers: the lists and
// their counts come from one statement and one snapshot, with no query
// per list.
const listColumns = "lists.id, lists.user_id, lists.name, lists.color, lists.position, lists.version, " +
	"lists.created_at, lists.updated_at, " +
	"(SELECT COUNT(*) FROM tasks WHERE tasks.user_id = lists.user_id AND tasks.list_id = lists.id) AS task_count, " +
	"(SELECT COUNT(*) FROM tasks WHERE tasks.user_id = lists.user_id AND tasks.list_id = lists.id AND tasks.completed = ?) AS pending_count"

// ListRow is a list with the number of its tasks, and of those pending.
// Subtasks count: they are tasks of the list.
type ListRow struct {
	List
	TaskCount    int64
	PendingCount int64
}

// WithCounts selects a list statement's rows as ListRows, in their manual
// order (position, then id).
func WithCounts(db *gorm.DB) *gorm.DB {
	return db.Select(listColumns, false).Order("lists.position").Order("lists.id")
}

// ListChanges narrows a list update to a list it would change (see
// Changes): one whose name or color differs from cols.
func ListChanges(cols map[string]any) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		var conds []string
		var args []any
		for _, c := range []string{"name", "color"} {
			if v, ok := cols[c]; ok {
				conds = append(conds, "lists."+c+" IS DISTINCT FROM ?")
				args = append(args, v)
			}
		}
		if len(conds) == 0 {
			return db
		}
		return db.Where("("+strings.Join(conds, " OR ")+")", args...)
	}
}

// ListTasks narrows a task statement to the tasks of one list (nil: the
// inbox).
func ListTasks(listID *int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if listID == nil {
			return db.Where("tasks.list_id IS NULL")
		}
		return db.Where("tasks.list_id = ?", *listID)
	}
}

// SubtasksOf narrows a task statement to the subtasks of parent.
func SubtasksOf(parent int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where("tasks.parent_id = ?", parent) }
}

// PendingOnly narrows a statement to tasks not completed.
func PendingOnly(db *gorm.DB) *gorm.DB { return db.Where("tasks.completed = ?", false) }
