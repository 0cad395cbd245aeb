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
	loc, f, err := statsQuery(c)
	if err != nil {
		return err
	}
	now := h.now.Now()
	y, m, d := now.In(loc).Date()
	// time.Date normalises day d+1 and finds the right offset on days with a
	// daylight-saving change, which last 23 or 25 hours.
	start := time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
	s, err := models.CountStats(h.read(c).Scopes(f.Scope), now, start, end)
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

// statsQuery reads the stats query: tz, an IANA zone name, and list, a
// list id or inbox, as for the list of tasks.
func statsQuery(c *fiber.Ctx) (*time.Location, models.TaskFilter, error) {
	loc := time.UTC
	var f models.TaskFilter
	params, errs := querySpec{known: []string{"tz", "list"}}.params(c)
	for _, p := range params {
		if p.name == "list" {
			if !parseListFilter(p.value, &f) {
				errs = append(errs, problem.FieldError{Field: p.name, Message: "must be a list id or inbox"})
			}
			continue
		}
		// "" and "Local" would name UTC and the server's own zone.
		l, err := time.LoadLocation(p.value)
		if err != nil || p.value == "" || p.value == "Local" {
			errs = append(errs, problem.FieldError{Field: p.name, Message: "must be an IANA time zone name, e.g. Europe/Berlin"})
			continue
		}
		loc = l
	}
	if len(errs) > 0 {
		return nil, f, problem.Validation(errs...)
	}
	return loc, f, nil
}
