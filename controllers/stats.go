package controllers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/models"
	"todo-api/problem"
)

// Stats counts the caller's tasks in one query, and says how many one user
// may keep. overdue is pending tasks due
// before now; due_today is pending tasks due on today's calendar date in the
// zone tz names (UTC by default), so a task due earlier today counts in both.
func (h *Tasks) Stats(c *fiber.Ctx) error {
	loc, err := statsZone(c)
	if err != nil {
		return err
	}
	now := h.now.Now()
	y, m, d := now.In(loc).Date()
	// time.Date normalises day d+1 and finds the right offset on days with a
	// daylight-saving change, which last 23 or 25 hours.
	start := time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
	s, err := models.CountStats(h.read(c), now, start, end)
	if err != nil {
		return err
	}
	cacheHeaders(c)
	out := statsResponse{Stats: s}
	if h.quotas.Tasks > 0 {
		out.MaxTasks = &h.quotas.Tasks
	}
	return c.JSON(out)
}

// statsResponse adds the task quota to the counts, so that a frontend can
// warn before a create is refused: total against max_tasks (null: no cap).
type statsResponse struct {
	models.Stats
	MaxTasks *int `json:"max_tasks"`
}

// statsZone reads the stats query: tz, an IANA zone name, is the only parameter.
func statsZone(c *fiber.Ctx) (*time.Location, error) {
	loc := time.UTC
	var errs []problem.FieldError
	seen := false
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		name, value := string(k), string(v)
		if name != "tz" {
			errs = append(errs, problem.FieldError{Field: problem.Truncate(name, 64), Message: "is not a known query parameter"})
			return
		}
		if seen {
			errs = append(errs, problem.FieldError{Field: name, Message: "must be given at most once"})
			return
		}
		seen = true
		// "" and "Local" would name UTC and the server's own zone.
		l, err := time.LoadLocation(value)
		if err != nil || value == "" || value == "Local" {
			errs = append(errs, problem.FieldError{Field: name, Message: "must be an IANA time zone name, e.g. Europe/Berlin"})
			return
		}
		loc = l
	})
	if len(errs) > 0 {
		return nil, problem.Validation(errs...)
	}
	return loc, nil
}
