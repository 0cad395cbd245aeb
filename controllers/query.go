package controllers

import (
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"todo-api/models"
	"todo-api/problem"
)

// queryParam is one parameter of a request's query string, copied out of
// fasthttp's buffers, which it reuses.
type queryParam struct{ name, value string }

// querySpec is the query string an endpoint takes. Every endpoint is
// strict: a parameter it does not know is a client's typo or a filter it
// believes is applied, and answering as if it were not there would hide
// that.
type querySpec struct {
	known      []string
	repeatable []string // of known, those that may be given more than once
	unknown    string   // the message for any other name; "" for the usual one
}

// params walks c's query string once. A name outside known, or a second
// one of a name that is not repeatable, becomes a field error, its name cut
// to 64 characters (it is the client's input); the rest come back in the
// order sent, for the endpoint to check their values.
func (s querySpec) params(c *fiber.Ctx) ([]queryParam, []problem.FieldError) {
	var params []queryParam
	var errs []problem.FieldError
	seen := map[string]bool{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		name := string(k)
		switch {
		case !slices.Contains(s.known, name):
			msg := s.unknown
			if msg == "" {
				msg = "is not a known query parameter"
			}
			errs = append(errs, problem.FieldError{Field: problem.Truncate(name, 64), Message: msg})
		case seen[name] && !slices.Contains(s.repeatable, name):
			errs = append(errs, problem.FieldError{Field: name, Message: "must be given at most once"})
		default:
			seen[name] = true
			params = append(params, queryParam{name, string(v)})
		}
	})
	return params, errs
}

// parseListFilter reads list=<id>|inbox into f, for the list of tasks and
// their stats alike; false when value is neither.
func parseListFilter(value string, f *models.TaskFilter) bool {
	f.InList = true
	if value == "inbox" {
		return true
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 1 {
		return false
	}
	f.ListID = &n
	return true
}
