package server_test

import (
	"strings"
	"testing"
)

// TestUnexpectedErrorIsGeneric breaks the database under the app (the
// tasks table disappears) and checks that the client gets a generic 500
// while the cause goes to the log with the request id.
func TestUnexpectedErrorIsGeneric(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		tok := e.token("alice")
		if err := e.db.Exec("DROP TABLE tasks").Error; err != nil {
			t.Fatal(err)
		}
		e.expect500 = true
		r := e.call("GET", "/api/alice/tasks", tok, nil, "X-Request-ID", "trace-me-42")
		r.problem(t, 500)
		if strings.Contains(strings.ToLower(string(r.body)), "tasks") || strings.Contains(string(r.body), "trace-me-42") {
			t.Errorf("500 body leaks the cause: %s", r.body)
		}
		logged := e.logs.String()
		if !strings.Contains(logged, `"request_id":"trace-me-42"`) || !strings.Contains(logged, `"level":"ERROR"`) || !strings.Contains(logged, "tasks") {
			t.Errorf("the cause is not logged with the request id:\n%s", logged)
		}
	})
}

// TestSchema checks what auto-migration made: the list's index on both
// databases and the column types the filters rely on.
func TestSchema(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		if !e.db.Migrator().HasIndex("tasks", "idx_tasks_user_created") {
			t.Error("no idx_tasks_user_created")
		}
		for _, col := range []string{"id", "user_id", "title", "description", "completed", "completed_at", "priority", "tags", "due_date", "recurrence", "version", "created_at", "updated_at"} {
			if !e.db.Migrator().HasColumn("tasks", col) {
				t.Errorf("no column %s", col)
			}
		}
	})
}
