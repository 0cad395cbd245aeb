package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPVersion: the version argument of the tools that write one task is
// the REST API's If-Match. Each case's task was created and then edited by
// its user (version 2), as if after the agent read it. A stale version is a
// tool error that names the current version and changes nothing; the
// current version, or none, writes as before; a version on another user's
// task is answered as an unknown id is, and changes nothing of theirs.
func TestMCPVersion(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		agents := map[string]*mcp.ClientSession{"alice": e.agent(t, e.token("alice")), "bob": e.agent(t, e.token("bob"))}
		lists := map[string]int64{}
		for user := range agents {
			var l struct {
				ID int64 `json:"id"`
			}
			e.call("POST", "/api/"+user+"/lists", e.token(user), map[string]any{"name": "Later"}).decode(t, &l)
			lists[user] = l.ID
		}
		// The tools, what each sends besides id and version, and whether
		// a task (GET's answer) shows the tool's write.
		tools := []struct {
			name    string
			args    func(user string) map[string]any
			written func(r response, user string) bool
		}{
			{"update_task", func(string) map[string]any { return map[string]any{"title": "the agent's"} },
				func(r response, _ string) bool { return r.status == http.StatusOK && r.task(t).Title == "the agent's" }},
			{"complete_task", func(string) map[string]any { return map[string]any{} },
				func(r response, _ string) bool { return r.status == http.StatusOK && r.task(t).Completed }},
			{"delete_task", func(string) map[string]any { return map[string]any{} },
				func(r response, _ string) bool { return r.status == http.StatusNotFound }},
			{"move_task", func(user string) map[string]any { return map[string]any{"list_id": lists[user]} },
				func(r response, user string) bool {
					l := r.task(t).ListID
					return r.status == http.StatusOK && l != nil && *l == lists[user]
				}},
		}
		// version picks the argument from the task's current version
		// (2); nil sends none.
		cases := []struct {
			name, as, owner string
			version         func(current int64) any
			want            string // "written", "stale" or "unknown"
		}{
			{"alice, stale", "alice", "alice", func(v int64) any { return v - 1 }, "stale"},
			{"alice, current", "alice", "alice", func(v int64) any { return v }, "written"},
			{"alice, none", "alice", "alice", func(int64) any { return nil }, "written"},
			{"bob, stale", "bob", "bob", func(v int64) any { return v - 1 }, "stale"},
			{"bob, current", "bob", "bob", func(v int64) any { return v }, "written"},
			{"bob, a version ahead", "bob", "bob", func(v int64) any { return v + 1 }, "stale"},
			{"alice on bob's task, its current version", "alice", "bob", func(v int64) any { return v }, "unknown"},
			{"alice on bob's task, a stale version", "alice", "bob", func(v int64) any { return v - 1 }, "unknown"},
			{"bob on alice's task, its current version", "bob", "alice", func(v int64) any { return v }, "unknown"},
		}
		unknown := e.call("GET", "/api/alice/tasks/987654", e.token("alice"), nil)
		var missing problemBody
		unknown.decode(t, &missing)
		for _, tl := range tools {
			for _, tc := range cases {
				t.Run(tl.name+" "+tc.name, func(t *testing.T) {
					tok := e.token(tc.owner)
					id := e.create(tc.owner, map[string]any{"title": "read by the agent"}).ID
					path := fmt.Sprintf("/api/%s/tasks/%d", tc.owner, id)
					if r := e.call("PATCH", path, tok, map[string]any{"description": "edited by its user since"}); r.status != http.StatusOK {
						t.Fatalf("the user's edit: %d %s", r.status, r.body)
					}
					before := e.call("GET", path, tok, nil)
					current := before.task(t).Version
					args := tl.args(tc.owner)
					args["id"] = id
					if v := tc.version(current); v != nil {
						args["version"] = v
					}
					c := use(t, agents[tc.as], tl.name, args)
					after := e.call("GET", path, tok, nil)
					switch tc.want {
					case "written":
						if c.isError || !tl.written(after, tc.owner) {
							t.Fatalf("not written: %+v; the task is now %d %s", c, after.status, after.body)
						}
						return
					case "stale":
						if !c.isError || c.data != nil || len(c.text) != 2 {
							t.Fatalf("want a tool error with the current task: %+v", c)
						}
						if want := fmt.Sprintf("Task %d is now at version %d, not %d: it was changed since you read it, so this call changed nothing.", id, current, args["version"]); !strings.HasPrefix(c.text[0], want) {
							t.Errorf("%q, want it to start %q", c.text[0], want)
						}
						var sent task
						if err := json.Unmarshal([]byte(c.text[1]), &sent); err != nil || sent.ID != id || sent.Version != current {
							t.Errorf("the task sent along: %q (%v)", c.text[1], err)
						}
					case "unknown":
						if !c.isError || c.data != nil || len(c.text) != 1 || c.text[0] != missing.Detail {
							t.Fatalf("want %q, as for an unknown id: %+v", missing.Detail, c)
						}
					}
					if after.status != before.status || string(after.body) != string(before.body) {
						t.Errorf("the task changed: %s, was %s", after.body, before.body)
					}
				})
			}
		}
	})
}
