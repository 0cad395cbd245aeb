package controllers

import (
	"github.com/gofiber/fiber/v2"

	"todo-api/database"
	"todo-api/models"
	"todo-api/problem"
)

// ClearCompleted deletes the caller's completed tasks and says how many.
// It demands ?status=completed, and nothing else, so that a bare DELETE on
// the collection — a client bug, a stripped query string — can never wipe
// a user's tasks.
func (h *Tasks) ClearCompleted(c *fiber.Ctx) error {
	params, errs := querySpec{known: []string{"status"}, unknown: "is not a parameter of clearing completed tasks"}.params(c)
	status := ""
	for _, p := range params {
		status = p.value
	}
	if status != "completed" {
		errs = append(errs, problem.FieldError{Field: "status", Message: "must be completed: DELETE on the collection only clears completed tasks"})
	}
	if len(errs) > 0 {
		return problem.Validation(errs...)
	}
	var deleted int64
	err := h.write(c, func(tx database.Tx) error {
		res := tx.Tasks().Scopes(models.CompletedOnly).Delete(&models.Task{})
		deleted = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": deleted})
}
