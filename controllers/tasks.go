// Package controllers turns HTTP requests into task operations. Handlers
// reach the database only through database.Store, whose queries are already
// bound to the authenticated user, and return errors to the one error handler.
//
// Fiber reuses the memory behind c.Params, c.Query and c.Body once a handler
// returns. Nothing here keeps such a string: ids are parsed to integers, JSON
// decoding allocates its own strings, the owner comes from the decoded token,
// and every database call finishes before the handler returns.
package controllers

import (
	"errors"
	"strconv"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/database"
	"todo-api/internal/jsonbody"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// Tasks serves /api/{user_id}/tasks and everything under it.
type Tasks struct {
	store    *database.Store
	validate *validator.Validate
	now      models.Clock
	// quotas are the caps the database enforces, for the stats to show.
	quotas config.Quotas
}

// NewTasks wires the task handlers; main and the tests call it.
func NewTasks(store *database.Store, validate *validator.Validate, now models.Clock, quotas config.Quotas) *Tasks {
	return &Tasks{store: store, validate: validate, now: now, quotas: quotas}
}

// errTaskNotFound is the answer for a task that does not exist and for one
// that belongs to someone else alike, so ids of other users' tasks leak nothing.
var errTaskNotFound = problem.NotFound("No task with this id.")

// read starts one statement reading the caller's tasks.
func (h *Tasks) read(c *fiber.Ctx) *gorm.DB {
	return h.store.Tasks(c.UserContext(), middleware.UserID(c))
}

// write runs fn's statements for the caller through the Store's one door
// for changes, as one transaction.
func (h *Tasks) write(c *fiber.Ctx, fn func(database.Tx) error) error {
	return h.store.Write(c.UserContext(), middleware.UserID(c), fn)
}

// Get returns one task; If-None-Match with its current ETag is a 304.
func (h *Tasks) Get(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	t, err := h.find(c, id)
	if err != nil {
		return err
	}
	cacheHeaders(c)
	if notModified(c, etag(t)) {
		return sendNotModified(c, etag(t))
	}
	return sendTask(c, fiber.StatusOK, t)
}

// find reads one of the caller's tasks.
func (h *Tasks) find(c *fiber.Ctx, id int64) (*models.Task, error) {
	t, err := models.FirstTask(h.read(c).Scopes(models.TaskID(id)))
	if err == nil && t == nil {
		return nil, errTaskNotFound
	}
	return t, err
}

// Delete removes a task. With If-Match, the version check is part of the
// DELETE statement itself.
func (h *Tasks) Delete(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	pre := ifMatch(c, id)
	if pre.impossible() {
		return absentOrStale(h.read(c), id)
	}
	var deleted int64
	err = h.write(c, func(tx database.Tx) error {
		res := tx.Tasks().Scopes(models.TaskID(id), pre.scope).Delete(&models.Task{})
		deleted = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return err
	}
	if deleted == 0 {
		return absentOrStale(h.read(c), id)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// absentOrStale explains a conditional write that touched no row: the task
// is not the caller's (404), or it is but If-Match did not match (412).
func absentOrStale(tasks *gorm.DB, id int64) error {
	var n int64
	if err := tasks.Scopes(models.TaskID(id)).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return errTaskNotFound
	}
	return errStale
}

// readChanges decodes and validates a task body; unknown members are
// reported with every other broken rule.
func (h *Tasks) readChanges(c *fiber.Ctx, mode inputMode) (taskChanges, error) {
	var in taskInput
	unknown, err := jsonbody.Decode(c.Get(fiber.HeaderContentType), c.Body(), &in)
	if err != nil {
		if errors.Is(err, jsonbody.ErrEmpty) {
			return taskChanges{}, problem.BadRequest("A JSON body is required.")
		}
		return taskChanges{}, err
	}
	return in.changes(h.validate, mode, unknown)
}

// taskID reads {id}: anything but a positive 64-bit integer names no task.
func taskID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errTaskNotFound
	}
	return id, nil
}

func sendTask(c *fiber.Ctx, status int, t *models.Task) error {
	c.Set(fiber.HeaderETag, etag(t))
	return c.Status(status).JSON(newTaskResponse(t))
}
