package controllers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm/clause"

	"todo-api/database"
	"todo-api/internal/jsonbody"
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
	now := h.now.Now()
	cols := ch.columns(now)
	if len(cols) == 0 && !ch.Place.sets() {
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
	return h.updatePlaced(c, id, cols, ch.Place, now)
}

// Toggle flips completed, or sets it when the body says {"completed": bool},
// so that a retried optimistic toggle cannot flip the task back.
func (h *Tasks) Toggle(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	var in struct {
		Completed jsonbody.Field[bool] `json:"completed"`
	}
	unknown, err := jsonbody.Decode(c.Get(fiber.HeaderContentType), c.Body(), &in)
	if err != nil && !errors.Is(err, jsonbody.ErrEmpty) {
		return err
	}
	errs := unknownMembers(unknown, "is not a field of a task")
	if in.Completed.Null {
		errs = append(errs, problem.FieldError{Field: "completed", Message: "must be true or false"})
	}
	if len(errs) > 0 {
		return problem.Validation(errs...)
	}
	now := h.now.Now()
	cols := models.ToggleColumns(now)
	if in.Completed.Set {
		cols = models.CompletedColumns(in.Completed.Value, now)
	}
	return h.update(c, id, cols)
}

// update applies cols to one of the caller's tasks and answers with the row
// as it is afterwards. If-Match is part of the UPDATE's own WHERE clause, so
// the check and the write are one step. What the write entails runs in the
// same transaction (continueSeries): the rule that a recurring task has a
// due date (a violation rolls the UPDATE back) and the next occurrence of a
// recurring task that the write completed.
func (h *Tasks) update(c *fiber.Ctx, id int64, cols map[string]any) error {
	return h.updatePlaced(c, id, cols, taskPlace{}, h.now.Now())
}

// updatePlaced is update with a new place for the task: its list and
// parent are checked and written in the same transaction, and a parent's
// subtasks follow it (fileChildren).
func (h *Tasks) updatePlaced(c *fiber.Ctx, id int64, cols map[string]any, place taskPlace, now time.Time) error {
	pre := ifMatch(c, id)
	var t *models.Task
	err := h.write(c, func(tx database.Tx) error {
		var before *models.Task
		if place.sets() {
			var err error
			if before, err = models.FirstTask(tx.Tasks().Scopes(models.TaskID(id))); err != nil {
				return err
			}
			if before == nil {
				return errTaskNotFound
			}
			list, parent, err := place.resolve(tx, before)
			if err != nil {
				return err
			}
			placeColumns(cols, before, list, parent, now)
		}
		var updated models.Task
		res := tx.Tasks().Model(&updated).Scopes(models.TaskID(id), pre.scope, models.Changes(cols)).
			Clauses(clause.Returning{}).Updates(cols)
		if database.BrokenReference(res.Error) {
			if place.ParentID != nil {
				return errUnknownParent
			}
			return errUnknownList
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// Not the caller's, stale, or already as asked: read which.
			var err error
			t, err = unchanged(tx, id, pre)
			return err
		}
		t = &updated
		if err := fileChildren(tx, t, before, cols, now); err != nil {
			return err
		}
		return continueSeries(tx, t, cols)
	})
	if err != nil {
		return err
	}
	return sendTask(c, fiber.StatusOK, t)
}

// unchanged explains an update that touched no row, inside its transaction:
// the task is not the caller's (404), If-Match did not match it (412), or
// the update would have stored what is there already, which is a success
// that changes nothing — not even version or updated_at — and answers with
// the task as it is.
func unchanged(tx database.Tx, id int64, pre precondition) (*models.Task, error) {
	t, err := models.FirstTask(tx.Tasks().Scopes(models.TaskID(id)))
	switch {
	case err != nil:
		return nil, err
	case t == nil:
		return nil, errTaskNotFound
	case !pre.matches(t.Version):
		return nil, errStale
	}
	return t, nil
}
