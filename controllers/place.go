package controllers

import (
	"time"

	"todo-api/database"
	"todo-api/internal/orderkey"
	"todo-api/models"
	"todo-api/problem"
)

// MaxSubtasks is how many subtasks one task may have.
const MaxSubtasks = 100

// taskPlace is where a body files a task: its list and its parent. Which
// of them it sets depends on the method (PUT and POST set both, null when
// absent; PATCH only those sent).
type taskPlace struct {
	SetsList   bool   `json:"sets_list"`
	ListGiven  bool   `json:"list_given"` // sent, rather than defaulted by PUT or POST
	ListID     *int64 `json:"list_id"`
	SetsParent bool   `json:"sets_parent"`
	ParentID   *int64 `json:"parent_id"`
}

func (p taskPlace) sets() bool { return p.SetsList || p.SetsParent }

// Another user's list or task answers exactly as one that does not exist.
var (
	errUnknownList   = problem.Invalid("list_id", "must be the id of one of your lists, or null for the inbox")
	errUnknownParent = problem.Invalid("parent_id", "must be the id of one of your top-level tasks, or null")
)

// resolve checks the place against the caller's rows, inside the write's
// transaction, and returns the task's list and parent after the write.
// current is the task as stored, nil for a create. A subtask lives in its
// parent's list: setting a parent takes the parent's list, and a list that
// differs from it is refused. The database's foreign keys refuse another
// user's list or parent even if a check here were missing.
func (p taskPlace) resolve(tx database.Tx, current *models.Task) (list, parent *int64, err error) {
	if current != nil {
		list, parent = current.ListID, current.ParentID
	}
	if p.SetsList {
		list = p.ListID
	}
	if p.SetsParent {
		parent = p.ParentID
	}
	if parent != nil {
		if current != nil && *parent == current.ID {
			return nil, nil, problem.Invalid("parent_id", "must be another task than this one")
		}
		par, err := models.FirstTask(tx.Tasks().Scopes(models.TaskID(*parent)))
		switch {
		case err != nil:
			return nil, nil, err
		case par == nil:
			return nil, nil, errUnknownParent
		case par.ParentID != nil:
			return nil, nil, problem.Invalid("parent_id", "must be a top-level task: subtasks are one level deep")
		}
		moved := current == nil || !sameID(current.ParentID, parent)
		if moved {
			if current != nil {
				var n int64
				if err := tx.Tasks().Scopes(models.SubtasksOf(current.ID)).Count(&n).Error; err != nil {
					return nil, nil, err
				}
				if n > 0 {
					return nil, nil, problem.Invalid("parent_id", "must be null: a task with subtasks cannot become a subtask")
				}
			}
			var n int64
			if err := tx.Tasks().Scopes(models.SubtasksOf(par.ID)).Count(&n).Error; err != nil {
				return nil, nil, err
			}
			if n >= MaxSubtasks {
				return nil, nil, problem.Invalid("parent_id", "has 100 subtasks, the most a task may have")
			}
		}
		if p.ListGiven && !sameID(p.ListID, par.ListID) {
			return nil, nil, problem.Invalid("list_id", "must be the parent's list (or left out): a subtask lives in its parent's list")
		}
		return par.ListID, parent, nil
	}
	if list != nil && (current == nil || !sameID(current.ListID, list)) {
		var n int64
		if err := tx.Lists().Scopes(models.ListID(*list)).Count(&n).Error; err != nil {
			return nil, nil, err
		}
		if n == 0 {
			return nil, nil, errUnknownList
		}
	}
	return list, parent, nil
}

// placeColumns adds the place to an update's column map. A task that
// changes list or parent goes first among its new siblings, as a new task
// does; one that stays keeps its order key.
func placeColumns(cols map[string]any, current *models.Task, list, parent *int64, now time.Time) {
	cols["list_id"], cols["parent_id"] = list, parent
	if !sameID(current.ListID, list) || !sameID(current.ParentID, parent) {
		cols["position"] = models.OrderKey(orderkey.ForTime(now))
	}
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// fileChildren runs after a write to t, in its transaction: the subtasks
// of a parent follow it into its list, and completing a parent completes
// its pending subtasks (reopening it reopens none).
func fileChildren(tx database.Tx, t *models.Task, before *models.Task, cols map[string]any, now time.Time) error {
	if t.ParentID != nil {
		return nil
	}
	if before != nil && !sameID(before.ListID, t.ListID) {
		err := tx.Tasks().Scopes(models.SubtasksOf(t.ID)).Updates(map[string]any{"list_id": t.ListID, "updated_at": now}).Error
		if err != nil {
			return err
		}
	}
	if _, sets := cols["completed"]; sets && t.Completed {
		err := tx.Tasks().Scopes(models.SubtasksOf(t.ID), models.PendingOnly).Updates(models.CompletedColumns(true, now)).Error
		if err != nil {
			return err
		}
	}
	return nil
}
