package server

import (
	"todo-api/database"
	"todo-api/problem"
)

// classifyDatabase is the error handler's problem.Classifier for database
// errors: one that cannot be reached or did not answer in time is a 503
// the client may retry after a second; any other stays a 500.
func classifyDatabase(err error) *problem.Problem {
	if database.Unavailable(err) {
		return problem.Unavailable("The database is not answering right now; try again shortly.").
			WithHeader("Retry-After", "1")
	}
	return nil
}
