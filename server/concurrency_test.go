package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentUsers has several users create and toggle tasks at the same
// time over real HTTP; afterwards every list holds exactly its owner's tasks
// and every acknowledged write is there.
func TestConcurrentUsers(t *testing.T) {
	const users, perUser = 8, 15
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		var wg sync.WaitGroup
		created := make([][]int64, users)
		for u := 0; u < users; u++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("user-%d", u)
				tok := e.token(name)
				for i := 0; i < perUser; i++ {
					r := e.call("POST", "/api/"+name+"/tasks", tok, map[string]any{"title": fmt.Sprintf("%s #%d", name, i)})
					if r.status != http.StatusCreated {
						t.Errorf("%s create: %d %s", name, r.status, r.body)
						return
					}
					id := r.task(t).ID
					created[u] = append(created[u], id)
					// Also try the neighbour's newest task: it must stay theirs.
					other := fmt.Sprintf("/api/%s/tasks/%d/toggle", name, id-1)
					if r := e.call("PATCH", other, tok, nil); r.status != http.StatusOK && r.status != http.StatusNotFound {
						t.Errorf("%s toggle: %d %s", name, r.status, r.body)
					}
				}
			}()
		}
		wg.Wait()
		for u := 0; u < users; u++ {
			name := fmt.Sprintf("user-%d", u)
			var got []task
			r := e.call("GET", "/api/"+name+"/tasks", e.token(name), nil)
			r.decode(t, &got)
			if len(got) != perUser || r.header.Get("X-Total-Count") != fmt.Sprint(perUser) {
				t.Errorf("%s has %d tasks (total %s), want %d", name, len(got), r.header.Get("X-Total-Count"), perUser)
			}
			mine := map[int64]bool{}
			for _, id := range created[u] {
				mine[id] = true
			}
			for _, tk := range got {
				if tk.UserID != name || !mine[tk.ID] {
					t.Errorf("%s's list holds task %d of %s", name, tk.ID, tk.UserID)
				}
			}
		}
	})
}
