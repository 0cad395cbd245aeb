package controllers

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"todo-api/database"
	"todo-api/internal/jsonbody"
	"todo-api/models"
	"todo-api/problem"
)

var errBadAfter = problem.Invalid("after_id", "must be the id of one of your tasks in the place the task goes to (same list and parent), or null for first")

// Move files a task, with its subtasks, into a list, under a parent and
// after a sibling in one write: {"list_id", "parent_id", "after_id"}, each
// optional (absent keeps the current value; after_id absent puts a task
// that changes place first, and leaves one that does not where it is). It
// writes only the moved rows — the task, and its subtasks when it changes
// list — never its siblings, and a move to where the task is already
// writes nothing.
func (h *Tasks) Move(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	var in struct {
		ListID   jsonbody.Field[int64] `json:"list_id"`
		ParentID jsonbody.Field[int64] `json:"parent_id"`
		AfterID  jsonbody.Field[int64] `json:"after_id"`
	}
	unknown, err := jsonbody.Decode(c.Get(fiber.HeaderContentType), c.Body(), &in)
	if err != nil && !errors.Is(err, jsonbody.ErrEmpty) {
		return err
	}
	errs := unknownMembers(unknown, "is not a field of a task move")
	place := taskPlace{SetsList: in.ListID.Set, ListGiven: in.ListID.Set, SetsParent: in.ParentID.Set}
	if in.ListID.Set && !in.ListID.Null {
		if in.ListID.Value < 1 {
			errs = append(errs, errUnknownList.Errors[0])
		}
		place.ListID = &in.ListID.Value
	}
	if in.ParentID.Set && !in.ParentID.Null {
		if in.ParentID.Value < 1 {
			errs = append(errs, errUnknownParent.Errors[0])
		}
		place.ParentID = &in.ParentID.Value
	}
	if in.AfterID.Set && !in.AfterID.Null && in.AfterID.Value < 1 {
		errs = append(errs, errBadAfter.Errors[0])
	}
	if len(errs) > 0 {
		return problem.Validation(errs...)
	}
	pre := ifMatch(c, id)
	now := h.now.Now()
	var t *models.Task
	err = h.write(c, func(tx database.Tx) error {
		before, err := models.FirstTask(tx.Tasks().Scopes(models.TaskID(id)))
		switch {
		case err != nil:
			return err
		case before == nil:
			return errTaskNotFound
		case !pre.matches(before.Version):
			return errStale
		}
		list, parent, err := place.resolve(tx, before)
		if err != nil {
			return err
		}
		group := models.TaskFilter{InList: true, ListID: list, UnderParent: true, ParentID: parent}
		siblings := func() *gorm.DB { return tx.Tasks().Scopes(group.Scope, models.NotRow("tasks", id)) }
		p := placement{table: "tasks", siblings: siblings, now: now,
			renumber: func() error { return tx.Renumber("tasks", siblings(), now) },
			reread: func(id int64) (models.OrderKey, error) {
				a, err := models.FirstTask(tx.Tasks().Scopes(models.TaskID(id)))
				if err == nil && a == nil {
					err = errors.New("the task to go after vanished")
				}
				if err != nil {
					return "", err
				}
				return a.Position, nil
			}}
		if in.AfterID.Set && !in.AfterID.Null {
			if in.AfterID.Value == id {
				return problem.Invalid("after_id", "must be another task than the one moved")
			}
			a, err := models.FirstTask(siblings().Scopes(models.TaskID(in.AfterID.Value)))
			if err != nil {
				return err
			}
			if a == nil {
				return errBadAfter
			}
			p.after = &models.Placed{Position: a.Position, ID: a.ID}
		}
		stays := sameID(before.ListID, list) && sameID(before.ParentID, parent)
		if stays {
			if !in.AfterID.Set {
				t = before
				return nil
			}
			prev, hasPrev, err := models.LastPlaced(siblings().Scopes(models.PlacedBefore("tasks", models.Placed{Position: before.Position, ID: id})), "tasks")
			if err != nil {
				return err
			}
			if (p.after == nil && !hasPrev) || (p.after != nil && hasPrev && prev.ID == p.after.ID) {
				t = before
				return nil
			}
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		cols := map[string]any{"list_id": list, "parent_id": parent, "position": key, "updated_at": now}
		var updated models.Task
		res := tx.Tasks().Model(&updated).Scopes(models.TaskID(id)).Clauses(clause.Returning{}).Updates(cols)
		if database.BrokenReference(res.Error) {
			if parent != nil {
				return errUnknownParent
			}
			return errUnknownList
		}
		if res.Error != nil {
			return res.Error
		}
		t = &updated
		return fileChildren(tx, t, before, cols, now)
	})
	if err != nil {
		return err
	}
	return sendTask(c, fiber.StatusOK, t)
}
