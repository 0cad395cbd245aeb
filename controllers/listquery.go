package controllers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/problem"
)

// Page bounds of the list.
const (
	defaultLimit = 100
	maxLimit     = 500
)

// listQuery is a validated list request. Every value in it comes from a
// whitelist or is a number, so nothing a client sends is ever pasted into SQL.
type listQuery struct {
	status string // "all", "pending" or "completed"
	limit  int
	offset int
}

// parseListQuery reads the list's query string. Unknown parameters are
// refused rather than ignored, so that a typo such as ?stauts=completed
// fails loudly instead of quietly returning every task.
func parseListQuery(c *fiber.Ctx) (listQuery, error) {
	q := listQuery{status: "all", limit: defaultLimit}
	var errs []problem.FieldError
	seen := map[string]bool{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		name, value := string(k), string(v)
		if seen[name] {
			errs = append(errs, problem.FieldError{Field: name, Message: "must be given at most once"})
			return
		}
		seen[name] = true
		switch name {
		case "status":
			if value != "all" && value != "pending" && value != "completed" {
				errs = append(errs, problem.FieldError{Field: name, Message: "must be one of: all, pending, completed"})
			}
			q.status = value
		case "limit":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > maxLimit {
				errs = append(errs, problem.FieldError{Field: name, Message: "must be an integer from 1 to 500"})
			}
			q.limit = n
		case "offset":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				errs = append(errs, problem.FieldError{Field: name, Message: "must be an integer of 0 or more"})
			}
			q.offset = n
		default:
			errs = append(errs, problem.FieldError{Field: truncate(name, 64), Message: "is not a known query parameter"})
		}
	})
	if len(errs) > 0 {
		return q, problem.Validation(errs...)
	}
	return q, nil
}

// filter adds the query's conditions to a scoped task query.
func (q listQuery) filter(db *gorm.DB) *gorm.DB {
	switch q.status {
	case "pending":
		db = db.Where("tasks.completed = ?", false)
	case "completed":
		db = db.Where("tasks.completed = ?", true)
	}
	return db
}

// truncate shortens client-supplied text that an error message repeats.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
