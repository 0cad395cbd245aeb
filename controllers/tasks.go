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
	"net/url"
	"strconv"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"todo-api/database"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// Tasks serves /api/{user_id}/tasks and everything under it.
type Tasks struct {
	store    *database.Store
	validate *validator.Validate
	now      database.Clock
}

// NewTasks wires the task handlers; main and the tests call it.
func NewTasks(store *database.Store, validate *validator.Validate, now database.Clock) *Tasks {
	return &Tasks{store: store, validate: validate, now: now}
}

// errTaskNotFound is the answer for a task that does not exist and for one
// that belongs to someone else alike, so ids of other users' tasks leak nothing.
var errTaskNotFound = problem.NotFound("No task with this id.")

// tasks starts one statement on the caller's tasks.
func (h *Tasks) tasks(c *fiber.Ctx) *gorm.DB {
	return h.store.Tasks(c.UserContext(), middleware.UserID(c))
}

// Get returns one task.
func (h *Tasks) Get(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	var t models.Task
	if err := h.tasks(c).Where("tasks.id = ?", id).Take(&t).Error; err != nil {
		return notFoundOr(err)
	}
	return sendTask(c, fiber.StatusOK, &t)
}

// Create adds a task owned by the token's user.
func (h *Tasks) Create(c *fiber.Ctx) error {
	ch, err := h.readChanges(c, modeReplace)
	if err != nil {
		return err
	}
	t := models.Task{UserID: middleware.UserID(c)}
	ch.applyTo(&t)
	if err := h.tasks(c).Create(&t).Error; err != nil {
		return err
	}
	c.Location("/api/" + url.PathEscape(t.UserID) + "/tasks/" + strconv.FormatInt(t.ID, 10))
	return sendTask(c, fiber.StatusCreated, &t)
}

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
		return h.Get(c)
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

// Delete removes a task.
func (h *Tasks) Delete(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	res := h.tasks(c).Where("tasks.id = ?", id).Delete(&models.Task{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errTaskNotFound
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// update applies cols to one of the caller's tasks in a single statement and
// answers with the row as it is afterwards.
func (h *Tasks) update(c *fiber.Ctx, id int64, cols map[string]any) error {
	var t models.Task
	res := h.tasks(c).Model(&t).Where("tasks.id = ?", id).Clauses(clause.Returning{}).Updates(cols)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errTaskNotFound
	}
	return sendTask(c, fiber.StatusOK, &t)
}

func (h *Tasks) readChanges(c *fiber.Ctx, mode inputMode) (taskChanges, error) {
	var in taskInput
	if err := decodeJSON(c, &in); err != nil {
		if errors.Is(err, errNoBody) {
			return taskChanges{}, problem.BadRequest("A JSON body is required.")
		}
		return taskChanges{}, err
	}
	return in.changes(h.validate, mode)
}

// taskID reads {id}: anything but a positive 64-bit integer names no task.
func taskID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errTaskNotFound
	}
	return id, nil
}

func notFoundOr(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errTaskNotFound
	}
	return err
}

func sendTask(c *fiber.Ctx, status int, t *models.Task) error {
	c.Set(fiber.HeaderETag, etag(t))
	return c.Status(status).JSON(newTaskResponse(t))
}

// List returns the caller's tasks, newest first, a page at a time; the total
// across pages is in X-Total-Count.
func (h *Tasks) List(c *fiber.Ctx) error {
	q, err := parseListQuery(c)
	if err != nil {
		return err
	}
	var total int64
	if err := q.filter(h.tasks(c)).Count(&total).Error; err != nil {
		return err
	}
	tasks := make([]models.Task, 0, min(q.limit, int(total)))
	if total > int64(q.offset) {
		err := q.filter(h.tasks(c)).
			Order("tasks.created_at DESC").Order("tasks.id DESC").
			Limit(q.limit).Offset(q.offset).
			Find(&tasks).Error
		if err != nil {
			return err
		}
	}
	out := make([]taskResponse, len(tasks))
	for i := range tasks {
		out[i] = newTaskResponse(&tasks[i])
	}
	c.Set("X-Total-Count", strconv.FormatInt(total, 10))
	return c.JSON(out)
}
