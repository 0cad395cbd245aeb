package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"todo-api/config"
)

// bearer adds the token to every request of an MCP client.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// agent connects the Go SDK's client to /mcp with token.
func (e *env) agent(t *testing.T, token string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "server-test", Version: "1"}, nil)
	s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: e.baseURL + "/mcp", HTTPClient: &http.Client{Transport: bearer(token), Timeout: 10 * time.Second},
	}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// toolCall is what a tool answered.
type toolCall struct {
	isError bool
	text    []string
	data    map[string]any
}

func use(t *testing.T, s *mcp.ClientSession, tool string, args map[string]any) toolCall {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	out := toolCall{isError: res.IsError}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			out.text = append(out.text, tc.Text)
		}
	}
	if res.StructuredContent != nil {
		raw, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(raw, &out.data)
	}
	return out
}

func (c toolCall) id(t *testing.T) int64 {
	t.Helper()
	n, ok := c.data["id"].(float64)
	if !ok || c.isError {
		t.Fatalf("no id in %+v", c)
	}
	return int64(n)
}

// TestMCPTools drives every tool through the SDK's client, as two users:
// each result is the REST API's JSON, and bob's client reaches none of
// alice's tasks by id, by list or by naming her.
func TestMCPTools(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice, bob := e.agent(t, e.token("alice")), e.agent(t, e.token("bob"))

		tools, err := alice.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range tools.Tools {
			names = append(names, tool.Name)
			if schema, _ := json.Marshal(tool.InputSchema); !strings.Contains(string(schema), `"user_id"`) {
				t.Errorf("%s: schema %s has no user_id", tool.Name, schema)
			}
		}
		want := "add_list add_task complete_task delete_task get_task list_lists list_tasks move_task task_stats update_task"
		if strings.Join(names, " ") != want {
			t.Errorf("tools %v, want %s", names, want)
		}

		list := use(t, alice, "add_list", map[string]any{"name": "Groceries", "color": "#2f9e44"})
		listID := list.id(t)
		added := use(t, alice, "add_task", map[string]any{"title": "  Buy milk ", "tags": []string{"Home"}, "list_id": listID,
			"due_date": "2026-12-01T17:00:00Z", "recurrence": "weekly"})
		id := added.id(t)
		if added.data["title"] != "Buy milk" || added.data["user_id"] != "alice" || added.data["list_id"] != float64(listID) ||
			fmt.Sprint(added.data["tags"]) != "[home]" || !strings.HasPrefix(added.text[0], "Added task") {
			t.Errorf("add_task: %+v", added)
		}
		// What the agent added is what the REST API has.
		if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", id), e.token("alice"), nil).task(t); got.Title != "Buy milk" || got.Version != 1 {
			t.Errorf("REST sees %+v", got)
		}
		// ... and what the change feed carries, as for a REST write.
		var feed struct {
			Changes []struct {
				Op   string `json:"op"`
				Task *task  `json:"task"`
			} `json:"changes"`
		}
		e.call("GET", "/api/alice/tasks/changes", e.token("alice"), nil).decode(t, &feed)
		if n := len(feed.Changes); n == 0 || feed.Changes[n-1].Task == nil || feed.Changes[n-1].Task.ID != id {
			t.Errorf("the change feed after add_task: %+v", feed)
		}
		sub := use(t, alice, "add_task", map[string]any{"title": "oat", "parent_id": id})
		if sub.data["parent_id"] != float64(id) || sub.data["list_id"] != float64(listID) {
			t.Errorf("subtask: %+v", sub)
		}

		cases := []struct {
			name    string
			as      *mcp.ClientSession
			tool    string
			args    map[string]any
			isError bool
			check   func(t *testing.T, c toolCall)
		}{
			{"alice lists her tasks", alice, "list_tasks", map[string]any{"list": listID, "parent": "none"}, false, func(t *testing.T, c toolCall) {
				if tasks, _ := c.data["tasks"].([]any); len(tasks) != 1 || c.data["total"] != float64(1) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice lists by her own id", alice, "list_tasks", map[string]any{"user_id": "alice", "status": "pending"}, false, func(t *testing.T, c toolCall) {
				if c.data["total"] != float64(2) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"bob lists none of them", bob, "list_tasks", nil, false, func(t *testing.T, c toolCall) {
				if tasks, _ := c.data["tasks"].([]any); len(tasks) != 0 || c.data["total"] != float64(0) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"bob names alice", bob, "list_tasks", map[string]any{"user_id": "alice"}, true, nil},
			{"bob gets hers", bob, "get_task", map[string]any{"id": id}, true, nil},
			{"bob updates hers", bob, "update_task", map[string]any{"id": id, "title": "mine"}, true, nil},
			{"bob completes hers", bob, "complete_task", map[string]any{"id": id}, true, nil},
			{"bob moves hers", bob, "move_task", map[string]any{"id": id, "list_id": nil}, true, nil},
			{"bob deletes hers", bob, "delete_task", map[string]any{"id": id}, true, nil},
			{"bob files into her list", bob, "add_task", map[string]any{"title": "x", "list_id": listID}, true, nil},
			{"bob's lists", bob, "list_lists", nil, false, func(t *testing.T, c toolCall) {
				if lists, _ := c.data["lists"].([]any); len(lists) != 0 {
					t.Errorf("%+v", c.data)
				}
			}},
			{"bob's stats", bob, "task_stats", nil, false, func(t *testing.T, c toolCall) {
				if c.data["total"] != float64(0) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice's stats", alice, "task_stats", map[string]any{"tz": "Europe/Berlin"}, false, func(t *testing.T, c toolCall) {
				if c.data["total"] != float64(2) || c.data["pending"] != float64(2) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice gets hers as me", alice, "get_task", map[string]any{"id": id, "user_id": "me"}, false, func(t *testing.T, c toolCall) {
				if c.data["title"] != "Buy milk" || c.data["version"] != float64(1) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice updates, null clears", alice, "update_task", map[string]any{"id": id, "description": "2 litres", "priority": "high"}, false, func(t *testing.T, c toolCall) {
				if c.data["priority"] != "high" || c.data["version"] != float64(2) || c.data["due_date"] != "2026-12-01T17:00:00Z" {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice's no-op update changes nothing", alice, "update_task", map[string]any{"id": id, "priority": "high"}, false, func(t *testing.T, c toolCall) {
				if c.data["version"] != float64(2) {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice moves to the inbox", alice, "move_task", map[string]any{"id": id, "list_id": nil}, false, func(t *testing.T, c toolCall) {
				if c.data["list_id"] != nil {
					t.Errorf("%+v", c.data)
				}
			}},
			{"alice completes, the series goes on", alice, "complete_task", map[string]any{"id": id}, false, func(t *testing.T, c toolCall) {
				if c.data["completed"] != true || c.data["next_task_id"] == nil || !strings.Contains(c.text[0], "next occurrence") {
					t.Errorf("%+v", c)
				}
			}},
			{"alice's lists", alice, "list_lists", map[string]any{}, false, func(t *testing.T, c toolCall) {
				if lists, _ := c.data["lists"].([]any); len(lists) != 1 {
					t.Errorf("%+v", c.data)
				}
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := use(t, tc.as, tc.tool, tc.args)
				if c.isError != tc.isError {
					t.Fatalf("isError %v, want %v: %+v", c.isError, tc.isError, c)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
			})
		}

		// Nothing bob sent reached alice's task: it is as her own calls left it.
		got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", id), e.token("alice"), nil).task(t)
		if got.Title != "Buy milk" || got.Version != 4 || !got.Completed {
			t.Errorf("alice's task after bob's calls: %+v", got)
		}
		if r := use(t, alice, "delete_task", map[string]any{"id": id}); r.isError || r.data["deleted"] != true {
			t.Errorf("delete: %+v", r)
		}
		if r := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", id), e.token("alice"), nil); r.status != http.StatusNotFound {
			t.Errorf("after delete_task REST answers %d", r.status)
		}
	})
}

// TestMCPToolErrors: a refused call is an isError result whose first text
// is the detail of the REST API's problem for the same request, with no
// internals; bob's calls on alice's task read exactly as a missing task.
func TestMCPToolErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice, bob := e.agent(t, e.token("alice")), e.agent(t, e.token("bob"))
		id := e.create("alice", map[string]any{"title": "hers"}).ID
		tok := e.token("alice")

		cases := []struct {
			name string
			as   *mcp.ClientSession
			tool string
			args map[string]any
			// rest is the REST request whose problem detail the tool's
			// first text must be; want is that text when there is none.
			rest         func() response
			want, fields string
		}{
			{name: "empty title", as: alice, tool: "add_task", args: map[string]any{"title": " "},
				rest: func() response { return e.call("POST", "/api/alice/tasks", tok, map[string]any{"title": " "}) }},
			{name: "several fields", as: alice, tool: "add_task", args: map[string]any{"title": "", "priority": "urgent", "bogus": 1},
				rest: func() response {
					return e.call("POST", "/api/alice/tasks", tok, map[string]any{"title": "", "priority": "urgent", "bogus": 1})
				}, fields: "bogus: is not a field of a task"},
			{name: "bad due date", as: alice, tool: "update_task", args: map[string]any{"id": id, "due_date": "tomorrow"},
				rest: func() response {
					return e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", id), tok, map[string]any{"due_date": "tomorrow"})
				}},
			{name: "unknown list filter", as: alice, tool: "list_tasks", args: map[string]any{"stauts": "done"},
				rest: func() response { return e.call("GET", "/api/alice/tasks?stauts=done", tok, nil) }},
			{name: "recurring without due date", as: alice, tool: "add_task", args: map[string]any{"title": "x", "recurrence": "daily"},
				rest: func() response {
					return e.call("POST", "/api/alice/tasks", tok, map[string]any{"title": "x", "recurrence": "daily"})
				}},
			{name: "missing task", as: alice, tool: "get_task", args: map[string]any{"id": 987654},
				rest: func() response { return e.call("GET", "/api/alice/tasks/987654", tok, nil) }},
			{name: "another user's task", as: bob, tool: "get_task", args: map[string]any{"id": id},
				rest: func() response { return e.call("GET", "/api/alice/tasks/987654", tok, nil) }},
			{name: "an id that is no number", as: alice, tool: "delete_task", args: map[string]any{"id": "stats"},
				want: "No task with this id."},
			{name: "no id", as: alice, tool: "complete_task", args: map[string]any{}, want: "id is required: the id of one of your tasks."},
			{name: "another user_id", as: alice, tool: "add_task", args: map[string]any{"title": "x", "user_id": "bob"},
				want: "user_id is not the token's user: an agent acts only as the user whose token it sends. Leave user_id out, or send me."},
			{name: "a stray argument", as: alice, tool: "list_lists", args: map[string]any{"name": "x"}, want: "list_lists takes no argument name."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := use(t, tc.as, tc.tool, tc.args)
				want := tc.want
				if tc.rest != nil {
					var p problemBody
					r := tc.rest()
					if r.status < 400 {
						t.Fatalf("the REST request succeeded: %d %s", r.status, r.body)
					}
					r.decode(t, &p)
					want = p.Detail
				}
				if !c.isError || len(c.text) == 0 || c.text[0] != want || c.data != nil {
					t.Fatalf("got %+v, want isError with %q", c, want)
				}
				if tc.fields != "" && (len(c.text) < 2 || !strings.Contains(c.text[1], tc.fields)) {
					t.Errorf("the field lines %q lack %q", c.text, tc.fields)
				}
				for _, text := range c.text {
					for _, leak := range []string{"SELECT", "sql", "gorm", ".go:", "panic", "goroutine"} {
						if strings.Contains(text, leak) {
							t.Errorf("%q shows %q", text, leak)
						}
					}
				}
			})
		}
		if got := e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", id), tok, nil).task(t); got.Version != 1 {
			t.Errorf("a refused call changed the task: %+v", got)
		}
		var n int64
		if err := e.db.Table("tasks").Count(&n).Error; err != nil || n != 1 {
			t.Errorf("%d tasks after refused calls (%v), want 1", n, err)
		}
	})
}

// TestMCPIdempotency: add_task retried with its idempotency_key returns
// the first task instead of adding another, as POST with Idempotency-Key.
func TestMCPIdempotency(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice := e.agent(t, e.token("alice"))
		args := map[string]any{"title": "once", "idempotency_key": "k-1"}
		first, again := use(t, alice, "add_task", args), use(t, alice, "add_task", args)
		if first.id(t) != again.id(t) {
			t.Errorf("retry created task %d after %d", again.id(t), first.id(t))
		}
		if other := use(t, alice, "add_task", map[string]any{"title": "different", "idempotency_key": "k-1"}); !other.isError {
			t.Errorf("a reused key with another title: %+v", other)
		}
		var n int64
		if err := e.db.Table("tasks").Count(&n).Error; err != nil || n != 1 {
			t.Errorf("%d tasks (%v), want 1", n, err)
		}
	})
}

// TestMCPAuth: without a token, or with one that is forged, expired or
// signed with "none", /mcp is a 401 whose WWW-Authenticate points to the
// RFC 9728 document, and that document names Better Auth when it is set.
func TestMCPAuth(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
		none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": e.clock.Now().Add(time.Hour).Unix()})
		unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		metadata := e.baseURL + "/.well-known/oauth-protected-resource"
		cases := []struct {
			name, token, challenge string
		}{
			{"no token", "", `Bearer resource_metadata="` + metadata + `"`},
			{"forged", sign(t, jwt.SigningMethodHS256, []byte("not the secret of this server, no"), jwt.MapClaims{"sub": "alice", "exp": e.clock.Now().Add(time.Hour).Unix()}),
				`Bearer resource_metadata="` + metadata + `", error="invalid_token"`},
			{"expired", e.token("alice", func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(-time.Hour).Unix() }),
				`Bearer resource_metadata="` + metadata + `", error="invalid_token"`},
			{"alg none", unsigned, `Bearer resource_metadata="` + metadata + `", error="invalid_token"`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", e.baseURL+"/mcp", strings.NewReader(initialize))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != tc.challenge ||
					!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
					t.Errorf("%d %q %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
				}
			})
		}
		// A client that connects with a bad token fails to connect.
		client := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
		if s, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
			Endpoint: e.baseURL + "/mcp", HTTPClient: &http.Client{Transport: bearer(cases[2].token)},
		}, nil); err == nil {
			s.Close()
			t.Error("an expired token connected")
		}

		res, err := http.Get(metadata)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if doc["resource"] != e.baseURL+"/mcp" || doc["authorization_servers"] != nil {
			t.Errorf("metadata without Better Auth: %v", doc)
		}
	})

	e := newEnv(t, config.SQLite, func(c *config.Config) { c.Auth.BetterAuthURL = "https://auth.example.com" })
	e.listen()
	res, err := http.Get(e.baseURL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Resource string   `json:"resource"`
		Servers  []string `json:"authorization_servers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || doc.Resource != e.baseURL+"/mcp" || fmt.Sprint(doc.Servers) != "[https://auth.example.com]" {
		t.Errorf("%d %+v", res.StatusCode, doc)
	}
}

// post sends one JSON-RPC message to /mcp with token and headers (name,
// value pairs).
func (e *env) postMCP(t *testing.T, token, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.baseURL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, raw
}

// TestMCPLimits: /mcp has the REST API's limits and records: body size,
// the per-user rate limit, CORS for a browser-based client, the request
// id in the access log and the tool's log line, metrics per tool without
// ids, and problems for what the transport refuses.
func TestMCPLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		tok := e.token("alice")
		call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_task","arguments":{"title":"from an agent"}}}`

		res, body := e.postMCP(t, tok, call, "X-Request-ID", "agent-req-1", "Mcp-Protocol-Version", "2025-06-18")
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"structuredContent":{`) || res.Header.Get("X-Request-ID") != "agent-req-1" {
			t.Fatalf("tools/call: %d %s", res.StatusCode, body)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, `"msg":"mcp tool","tool":"add_task","status":201,"is_error":false,"user_id":"alice","request_id":"agent-req-1"`) ||
			!strings.Contains(logs, `"route":"/mcp","status":200`) {
			t.Errorf("log lacks the tool's line or the access line:\n%s", logs)
		}
		metrics := e.scrape()
		if !strings.Contains(metrics, `todo_api_mcp_tool_calls_total{status="201",tool="add_task"} 1`) ||
			!strings.Contains(metrics, `todo_api_mcp_tool_call_duration_seconds_count{tool="add_task"} 1`) {
			t.Errorf("no per-tool metric")
		}
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, "todo_api_mcp") && strings.Contains(line, "from an agent") {
				t.Errorf("a metric label holds call data: %s", line)
			}
		}

		big := `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"add_task","arguments":{"title":"x","description":"` + strings.Repeat("a", 70*1024) + `"}}}`
		if res, body := e.postMCP(t, tok, big); res.StatusCode != http.StatusRequestEntityTooLarge ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("a 70 KiB body: %d %s", res.StatusCode, body)
		}
		if res, body := e.postMCP(t, tok, call, "Content-Type", "text/plain"); res.StatusCode != http.StatusUnsupportedMediaType ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("text/plain: %d %s", res.StatusCode, body)
		}
		req, _ := http.NewRequest("GET", e.baseURL+"/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "text/event-stream")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
			t.Errorf("GET /mcp: %v %+v", err, res)
		}

		for _, tc := range []struct {
			origin  string
			allowed bool
		}{{"http://localhost:3000", true}, {"https://evil.example", false}} {
			req, _ := http.NewRequest("OPTIONS", e.baseURL+"/mcp", nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,mcp-protocol-version,mcp-session-id")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got := res.Header.Get("Access-Control-Allow-Origin") == tc.origin &&
				strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "mcp-protocol-version")
			if got != tc.allowed {
				t.Errorf("preflight from %s: %d %v", tc.origin, res.StatusCode, res.Header)
			}
		}
	})

	// The per-user limit counts /mcp requests as it counts REST ones.
	e := newEnv(t, config.SQLite, func(c *config.Config) { c.RateLimit = config.RateLimit{PerMinute: 60, Burst: 2} })
	e.listen()
	tok := e.token("alice")
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	var last *http.Response
	for i := 0; i < 3; i++ {
		last, _ = e.postMCP(t, tok, list)
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("third request within the burst of 2: %d", last.StatusCode)
	}
}

// TestMCPWritesReachTheStream: a task an agent adds, edits and deletes
// reaches the user's open event stream, as a browser tab would see it,
// and not another user's.
func TestMCPWritesReachTheStream(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		mine, _ := openStream(t, e.baseURL, "alice", e.token("alice"), "")
		mine.ready()
		theirs, _ := openStream(t, e.baseURL, "bob", e.token("bob"), "")
		theirs.ready()
		agent := e.agent(t, e.token("alice"))
		id := use(t, agent, "add_task", map[string]any{"title": "from the agent"}).id(t)
		mine.expect("task.created", "alice", id)
		use(t, agent, "complete_task", map[string]any{"id": id})
		if b := mine.expect("task.updated", "alice", id); !b.Task.Completed {
			t.Errorf("completed task %+v", b.Task)
		}
		use(t, agent, "delete_task", map[string]any{"id": id})
		mine.expect("task.deleted", "alice", id)
		theirs.quiet(300 * time.Millisecond)
		mine.close()
		theirs.close()
	}, quickHeartbeat)
}
