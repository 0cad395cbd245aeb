package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"todo-api/config"
)

// TestCostlyRoutes: which routes take a costly slot. With no costly slot at
// all and no wait, every costly route is 429 with Retry-After (the cap's
// problem, before any work), and every other route is served as usual.
func TestCostlyRoutes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		for _, user := range []string{"alice", "bob"} {
			task := e.create(user, map[string]any{"title": user + "'s"})
			l := e.newList(user, map[string]any{"name": user + "'s list"})
			tasks := fmt.Sprintf("/api/%s/tasks", user)
			one := fmt.Sprintf("%s/%d", tasks, task.ID)
			lists := fmt.Sprintf("/api/%s/lists", user)
			oneList := fmt.Sprintf("%s/%d", lists, l.ID)
			for _, tc := range []struct {
				method, path string
				body         any
				costly       bool
			}{
				{"GET", tasks, nil, true},
				{"GET", tasks + "?q=zz", nil, true},
				{"GET", "/api/me/tasks?status=pending", nil, true},
				{"HEAD", tasks, nil, true},
				{"GET", tasks + "/stats", nil, true},
				{"DELETE", tasks, nil, true},
				{"GET", lists, nil, true},
				{"GET", tasks + "/changes", nil, false},
				{"POST", tasks, map[string]any{"title": "one more"}, false},
				{"GET", one, nil, false},
				{"PUT", one, map[string]any{"title": "put"}, false},
				{"PATCH", one, map[string]any{"title": "patched"}, false},
				{"PATCH", one + "/toggle", nil, false},
				{"PATCH", one + "/complete", nil, false},
				{"POST", one + "/move", map[string]any{"before": nil}, false},
				{"GET", oneList, nil, false},
				{"PATCH", oneList, map[string]any{"color": "#aabbcc"}, false},
				{"POST", oneList + "/move", map[string]any{"before": nil}, false},
				{"POST", lists, map[string]any{"name": "another " + user}, false},
				{"DELETE", one, nil, false},
			} {
				r := e.call(tc.method, tc.path, e.token(user), tc.body)
				switch {
				case tc.costly && tc.method == "HEAD":
					if r.status != http.StatusTooManyRequests {
						t.Errorf("HEAD %s: %d, want 429", tc.path, r.status)
					}
				case tc.costly:
					r.problem(t, http.StatusTooManyRequests)
					if r.header.Get("Retry-After") != "1" {
						t.Errorf("%s %s: Retry-After %q, want 1", tc.method, tc.path, r.header.Get("Retry-After"))
					}
				case r.status == http.StatusTooManyRequests || r.status >= 500:
					t.Errorf("%s %s (cheap): %d %s", tc.method, tc.path, r.status, r.body)
				}
			}
		}
	}, func(c *config.Config) { c.InFlight = config.InFlight{PerUser: 4, CostlyPerUser: 0} })
}
