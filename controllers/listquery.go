package controllers

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"todo-api/models"
	"todo-api/problem"
)

// Bounds of the list's parameters.
const (
	defaultLimit = 100
	maxLimit     = 500
	maxQueryTags = 10 // a task has at most 10 tags, so more can never match
	maxSearch    = 200
)

// listQuery is a validated list request. Every value in it comes from a
// whitelist, is a number or a time, or is bound as a parameter, so nothing a
// client sends is ever pasted into SQL.
type listQuery struct {
	filter models.TaskFilter
	order  models.TaskOrder
	limit  int
	offset int
}

// listQuerySpec is the list's query string: only tag may be repeated.
var listQuerySpec = querySpec{
	known: []string{"status", "priority", "tag", "q", "due_before", "due_after", "overdue",
		"reminder", "list", "parent", "sort", "order", "limit", "offset"},
	repeatable: []string{"tag"},
}

// parseListQuery reads the list's query string, reporting every bad
// parameter at once. Unknown parameters are refused rather than ignored, so
// that a typo such as ?stauts=completed fails loudly instead of quietly
// returning every task.
func parseListQuery(c *fiber.Ctx) (listQuery, error) {
	q := listQuery{
		filter: models.TaskFilter{Status: models.StatusAll},
		order:  models.TaskOrder{Key: "created", Desc: models.SortKeys["created"]},
		limit:  defaultLimit,
	}
	params, errs := listQuerySpec.params(c)
	bad := func(name, msg string) { errs = append(errs, problem.FieldError{Field: name, Message: msg}) }
	order := ""
	for _, p := range params {
		name, value := p.name, p.value
		switch name {
		case "status":
			if value != "all" && value != "pending" && value != "completed" {
				bad(name, "must be one of: all, pending, completed")
			}
			q.filter.Status = value
		case "priority":
			for _, level := range strings.Split(value, ",") {
				level = strings.TrimSpace(level)
				if level != "low" && level != "medium" && level != "high" {
					bad(name, "must be a comma-separated list of: low, medium, high")
					break
				}
				if !slices.Contains(q.filter.Priorities, level) {
					q.filter.Priorities = append(q.filter.Priorities, level)
				}
			}
		case "tag":
			// Checked before ToLower, which would turn invalid UTF-8 into U+FFFD.
			t := strings.ToLower(strings.TrimSpace(value))
			switch {
			case !cleanText(value):
				bad(name, "must be text without control characters")
			case t == "":
				bad(name, "must not be empty")
			case utf8.RuneCountInString(t) > 50:
				bad(name, "must be at most 50 characters")
			case !slices.Contains(q.filter.Tags, t):
				q.filter.Tags = append(q.filter.Tags, t)
			}
		case "q":
			q.filter.Search = strings.TrimSpace(value)
			if !cleanText(q.filter.Search) {
				bad(name, "must be text without control characters")
			} else if utf8.RuneCountInString(q.filter.Search) > maxSearch {
				bad(name, "must be at most 200 characters")
			}
		case "due_before", "due_after":
			d, ok := parseQueryTime(value)
			switch {
			case !ok:
				bad(name, "must be an RFC 3339 date-time, e.g. 2026-12-01T17:00:00Z")
			case !models.Storable(d):
				bad(name, timeRangeMessage)
			case name == "due_before":
				// Stored times have microseconds, so <= truncated is exact.
				d = d.Truncate(time.Microsecond)
				q.filter.DueBefore = &d
			default:
				// And >= rounded up is.
				if t := d.Truncate(time.Microsecond); !t.Equal(d) {
					d = t.Add(time.Microsecond)
				}
				if !models.Storable(d) {
					bad(name, timeRangeMessage)
				}
				q.filter.DueAfter = &d
			}
		case "overdue":
			if value != "true" {
				bad(name, "must be true (leave it out for all tasks)")
			}
			q.filter.Overdue = true
		case "reminder":
			if value != "pending" {
				bad(name, "must be pending (leave it out for all tasks)")
			}
			q.filter.ReminderPending = true
		case "list":
			if !parseListFilter(value, &q.filter) {
				bad(name, "must be a list id or inbox")
			}
		case "parent":
			q.filter.UnderParent = true
			if value != "none" {
				n, err := strconv.ParseInt(value, 10, 64)
				if err != nil || n < 1 {
					bad(name, "must be a task id or none")
					continue
				}
				q.filter.ParentID = &n
			}
		case "sort":
			desc, ok := models.SortKeys[value]
			if !ok {
				bad(name, "must be one of: created, updated, title, due_date, priority, position")
			}
			q.order = models.TaskOrder{Key: value, Desc: desc}
		case "order":
			if value != "asc" && value != "desc" {
				bad(name, "must be asc or desc")
			}
			order = value
		case "limit":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > maxLimit {
				bad(name, "must be an integer from 1 to 500")
			}
			q.limit = n
		case "offset":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				bad(name, "must be an integer of 0 or more")
			}
			q.offset = n
		}
	}
	if len(q.filter.Tags) > maxQueryTags {
		bad("tag", "must be given at most 10 times")
	}
	if order != "" {
		q.order.Desc = order == "desc"
	}
	if len(errs) > 0 {
		return q, problem.Validation(errs...)
	}
	return q, nil
}

// parseQueryTime reads an RFC 3339 date-time from a query string. A "+"
// that was not percent-encoded arrives as a space (form encoding), which
// cannot otherwise appear in RFC 3339, so it is put back.
func parseQueryTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// cleanText rejects what PostgreSQL text cannot hold (invalid UTF-8, NUL)
// along with the other control characters, which no title or tag contains.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
