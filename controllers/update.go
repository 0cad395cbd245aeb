package controllers

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"todo-api/database"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// Replace (PUT) sets every editable field; absent ones get their defaults.
func (h *Tasks) Replace(c *fiber.Ctx) error {
	return h.change(c, modeReplace)
}

// Patch changes only the fields sent.
func (h *Tasks) Patch(c *fiber.Ctx) error {
	return h.change(c, modePatch)
}

func (h *Tasks) change(c *fiber.Ctx, mode inputMode) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	ch, err := h.readChanges(c, mode)
	if err != nil {
		return err
	}
	cols := ch.columns(h.now.Now())
	if len(cols) == 0 {
		// PATCH {} writes nothing, but If-Match still has to hold.
		t, err := h.find(c, id)
		if err != nil {
			return err
		}
		if !ifMatch(c, id).matches(t.Version) {
			return errStale
		}
		return sendTask(c, fiber.StatusOK, t)
	}
	return h.update(c, id, cols)
}

// Toggle flips completed, or sets it when the body says {"completed": bool},
// so that a retried optimistic toggle cannot flip the task back.
func (h *Tasks) Toggle(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	var in struct {
		Completed Field[bool] `json:"completed"`
	}
	if err := decodeJSON(c, &in); err != nil && !errors.Is(err, errNoBody) {
		return err
	}
	if in.Completed.Null {
		return problem.Invalid("completed", "must be true or false")
	}
	now := h.now.Now()
	cols := map[string]any{
		"completed": gorm.Expr("NOT completed"),
		// COALESCE lets PostgreSQL infer the parameter's type from the
		// column; completed_at is always NULL while the task is pending.
		"completed_at": gorm.Expr("CASE WHEN completed THEN NULL ELSE COALESCE(completed_at, ?) END", now),
		"updated_at":   now,
	}
	if in.Completed.Set {
		cols = completedColumns(in.Completed.Value, now)
	}
	return h.update(c, id, cols)
}

// update applies cols to one of the caller's tasks and answers with the row
// as it is afterwards. If-Match is part of the UPDATE's own WHERE clause, so
// the check and the write are one step.
//
// A write on a recurring task, or one that sets recurrence or due_date, runs
// in a transaction with what it may entail: the rule that a recurring task
// has a due date (a violation rolls the UPDATE back) and the next occurrence
// of a recurring task that the write completed. Every other write — most
// toggles and edits — is the single UPDATE statement: its WHERE clause only
// matches a task that does not repeat, and when it matches nothing, the
// transaction sorts out why (recurring, stale, or not the caller's).
func (h *Tasks) update(c *fiber.Ctx, id int64, cols map[string]any) error {
	pre := ifMatch(c, id)
	var t models.Task
	_, setsRecurrence := cols["recurrence"]
	_, setsDue := cols["due_date"]
	if !setsRecurrence && !setsDue && !pre.impossible() {
		var updated int64
		err := h.write(c, func(tx database.Tx) error {
			res := pre.where(tx.Tasks().Model(&t).Where("tasks.id = ?", id).Where("tasks.recurrence IS NULL")).
				Clauses(clause.Returning{}).Updates(cols)
			updated = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return err
		}
		if updated == 1 {
			return sendTask(c, fiber.StatusOK, &t)
		}
	}
	err := h.store.Transaction(c.UserContext(), middleware.UserID(c), func(tx database.Tx) error {
		if pre.impossible() {
			return absentOrStale(tx.Tasks(), id)
		}
		res := pre.where(tx.Tasks().Model(&t).Where("tasks.id = ?", id)).Clauses(clause.Returning{}).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return absentOrStale(tx.Tasks(), id)
		}
		return h.continueSeries(tx, &t, cols)
	})
	if err != nil {
		return err
	}
	return sendTask(c, fiber.StatusOK, &t)
}
