package server_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"todo-api/models"
)

// TestDeepPages: a page past the first thousand tasks (found by sorting
// only ids and sort keys) holds exactly the tasks a shallow page over the
// same range holds, for every sort key, both orders and a filter.
func TestDeepPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		rows := make([]models.Task, 1600)
		for i := range rows {
			due := base.Add(time.Duration(i%37) * time.Hour)
			rows[i] = models.Task{UserID: "alice", Title: fmt.Sprintf("task %04d", (i*7919)%1600),
				Priority: [...]models.Priority{"low", "medium", "high"}[i%3], Completed: i%4 == 0, DueDate: &due}
			if i%5 == 0 {
				rows[i].DueDate = nil
			}
		}
		if err := e.fixture().CreateInBatches(rows, 200).Error; err != nil {
			t.Fatal(err)
		}
		e.create("bob", map[string]any{"title": "bob's"})
		alice := e.token("alice")
		for _, q := range []string{"sort=created", "sort=updated&order=asc", "sort=title", "sort=title&order=desc",
			"sort=due_date", "sort=due_date&order=desc", "sort=priority", "status=pending&sort=title"} {
			shallow := e.call("GET", "/api/alice/tasks?"+q+"&offset=900&limit=300", alice, nil)
			deep := e.call("GET", "/api/alice/tasks?"+q+"&offset=1000&limit=100", alice, nil)
			want := shallow.ids(t, "alice")
			if len(want) > 100 {
				want = want[100:min(200, len(want))]
			} else {
				want = nil
			}
			if got := deep.ids(t, "alice"); len(got) != 100 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: deep page %v, want %v", q, got, want)
			}
			if deep.header.Get("X-Total-Count") != shallow.header.Get("X-Total-Count") {
				t.Errorf("%s: X-Total-Count %s deep, %s shallow", q, deep.header.Get("X-Total-Count"), shallow.header.Get("X-Total-Count"))
			}
		}
	})
}
