package server

import (
	"errors"
	"fmt"
	"net/http"

	"todo-api/database"
	"todo-api/problem"
)

// classifyDatabase is the error handler's problem.Classifier for database
// errors: one that cannot be reached or did not answer in time is a 503
// the client may retry after a second; a write past a quota is a 409 that
// names the cap and what to do; any other stays a 500.
func classifyDatabase(err error) *problem.Problem {
	var quota *database.QuotaExceeded
	switch {
	case database.Unavailable(err):
		return problem.Unavailable("The database is not answering right now; try again shortly.").
			WithHeader("Retry-After", "1")
	case errors.As(err, &quota) && quota.Resource == "tasks":
		return problem.New(http.StatusConflict, fmt.Sprintf(
			"You have %d tasks, the most one user may keep; delete some to add more (DELETE /api/me/tasks?status=completed removes the completed ones). Nothing was changed.",
			quota.Limit))
	case errors.As(err, &quota):
		return problem.New(http.StatusConflict, fmt.Sprintf(
			"You have stored %d idempotency keys in the last 24 hours, the most one user may; send this request without an Idempotency-Key, or again once older keys have expired. Nothing was changed.",
			quota.Limit))
	}
	return nil
}
