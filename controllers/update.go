package controllers

import (
	"errors"

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
	pre := ifMatch(c, id)
	var t models.Task
	err := h.write(c, func(tx database.Tx) error {
		if pre.impossible() {
			return absentOrStale(tx.Tasks(), id)
		}
		res := tx.Tasks().Model(&t).Scopes(models.TaskID(id), pre.scope).Clauses(clause.Returning{}).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return absentOrStale(tx.Tasks(), id)
		}
		return continueSeries(tx, &t, cols)
	})
	if err != nil {
		return err
	}
	return sendTask(c, fiber.StatusOK, &t)
}
