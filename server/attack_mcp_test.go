package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The MCP attacks: /mcp abused as a JSON-RPC endpoint (batches, bodies
// near and over the limit, deep nesting, unknown methods and tools,
// notifications that would act, ids of odd types) and its tools called
// with arguments of every wrong type and with another user's ids. Every
// case gets a JSON-RPC error, a tool error or a problem: never a 5xx,
// never SQL, a path or a stack, never Bob's data, and no row of either
// user changes. TestMCPAuth, TestMCPLimits (a 70 KiB body, the wrong
// Content-Type, GET) and TestMCPToolErrors (a user_id of bob on add_task)
// cover what is not repeated here.

// mcpLeaks are what an answer must never show.
var mcpLeaks = []string{"SELECT", "INSERT", "UPDATE ", "sql", "gorm", "sqlite", "postgres", ".go:", "panic", "goroutine", "/root/", "/home/", "/tmp/", "runtime."}

// mcpTarget is Alice, Bob, each with a task and a list, and the snapshot
// every refused case must leave as it was.
type mcpTarget struct {
	e                    *env
	alice, bob           string
	aliceTask, bobTask   int64
	aliceList, bobList   int64
	bobSecret            string
	before               map[string][]map[string]any
	aliceAgent, bobAgent *mcp.ClientSession
}

func newMCPTarget(t *testing.T, e *env) *mcpTarget {
	e.listen()
	p := &mcpTarget{e: e, alice: e.token("alice"), bob: e.token("bob"), bobSecret: "bob's secret plan"}
	p.aliceList = e.newList("alice", map[string]any{"name": "Alice's"}).ID
	p.bobList = e.newList("bob", map[string]any{"name": "Bob's"}).ID
	p.aliceTask = e.create("alice", map[string]any{"title": "alice's", "list_id": p.aliceList}).ID
	p.bobTask = e.create("bob", map[string]any{"title": p.bobSecret, "description": "for bob only", "list_id": p.bobList}).ID
	p.before = p.snapshot(t)
	p.aliceAgent, p.bobAgent = e.agent(t, p.alice), e.agent(t, p.bob)
	return p
}

// snapshot is every row of the tables a tool writes, read from the
// database itself.
func (p *mcpTarget) snapshot(t *testing.T) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, table := range []string{"tasks", "lists"} {
		var rows []map[string]any
		if err := p.e.db.Table(table).Order("id").Find(&rows).Error; err != nil {
			t.Fatalf("reading %s: %v", table, err)
		}
		out[table] = rows
	}
	return out
}

func (p *mcpTarget) unchanged(t *testing.T) {
	t.Helper()
	if now := p.snapshot(t); !reflect.DeepEqual(now, p.before) {
		t.Errorf("the rows changed:\nbefore %v\nafter  %v", p.before, now)
		p.before = now // one change fails one case, not every case after it
	}
}

// clean fails if text shows internals or Bob's data.
func (p *mcpTarget) clean(t *testing.T, text string) {
	t.Helper()
	for _, leak := range append([]string{p.bobSecret, "for bob only", `"user_id":"bob"`}, mcpLeaks...) {
		if strings.Contains(text, leak) {
			t.Errorf("the answer shows %q: %.300s", leak, text)
		}
	}
}

// rpcAnswer is what a raw /mcp POST answered, as far as the cases check.
type rpcAnswer struct {
	ID     json.RawMessage     `json:"id"`
	Error  *struct{ Code int } `json:"error"`
	Result *struct {
		IsError           bool            `json:"isError"`
		StructuredContent json.RawMessage `json:"structuredContent"`
	} `json:"result"`
}

// Answer kinds a raw case expects.
const (
	wantProblem   = "problem"    // an HTTP 4xx problem+json
	wantRPCError  = "rpc error"  // 200 with a JSON-RPC error
	wantToolError = "tool error" // 200 with a result that is isError
	wantResult    = "result"     // 200 with a result, not isError; changes nothing
	wantAccepted  = "accepted"   // 202, no body: a notification or a response
)

type mcpCase struct {
	name, body string
	// version is the Mcp-Protocol-Version header, none if empty.
	version string
	chunked bool
	status  int
	want    string
	// id, if set, is the JSON the answer's id must be.
	id string
}

// TestAttackMCPProtocol: hostile JSON-RPC on /mcp.
func TestAttackMCPProtocol(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		p := newMCPTarget(t, e)
		call := func(id, tool, args string) string {
			return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":` + tool + `,"arguments":` + args + `}}`
		}
		add := func(id string) string { return call(id, `"add_task"`, `{"title":"planted"}`) }
		get := func(id string) string { return call(id, `"get_task"`, fmt.Sprintf(`{"id":%d}`, p.aliceTask)) }
		var full []string // as many creates as fit in the body limit
		for i := 0; len(strings.Join(full, ","))+200 < 64*1024; i++ {
			full = append(full, add(fmt.Sprint(i)))
		}
		nest := func(n int, open, shut string) string { return strings.Repeat(open, n) + "1" + strings.Repeat(shut, n) }
		var manyArgs []string
		for i := 0; len(strings.Join(manyArgs, ","))+200 < 63*1024; i++ {
			manyArgs = append(manyArgs, fmt.Sprintf(`"a%05d":1`, i))
		}
		cases := []mcpCase{
			// Batches: the SDK still runs them for a client that names an
			// older revision, or none; one request would then carry ~600
			// tool calls past the per-user rate limit.
			{name: "a batch of two creates", body: "[" + add("1") + "," + add("2") + "]", status: 400, want: wantProblem},
			{name: "a batch under revision 2025-03-26", body: "[" + add("1") + "," + add("2") + "]", version: "2025-03-26", status: 400, want: wantProblem},
			{name: "a batch under revision 2025-06-18", body: "[" + add("1") + "]", version: "2025-06-18", status: 400, want: wantProblem},
			{name: "a batch of one", body: "[" + add("1") + "]", status: 400, want: wantProblem},
			{name: "a batch after whitespace", body: " \r\n\t[" + add("1") + "]", status: 400, want: wantProblem},
			{name: "an empty batch", body: "[]", status: 400, want: wantProblem},
			{name: "a 64 KiB batch of creates", body: "[" + strings.Join(full, ",") + "]", status: 400, want: wantProblem},
			{name: "a batch of notifications", body: `[{"jsonrpc":"2.0","method":"notifications/initialized"}]`, status: 400, want: wantProblem},
			// Size.
			{name: "a 63 KiB description", body: call("1", `"add_task"`, `{"title":"x","description":"`+strings.Repeat("d", 63*1024)+`"}`), status: 200, want: wantToolError},
			{name: "63 KiB of unknown arguments", body: call("1", `"add_task"`, `{"title":"x",`+strings.Join(manyArgs, ",")+`}`), status: 200, want: wantToolError},
			{name: "63 KiB of unknown list parameters", body: call("1", `"list_tasks"`, `{`+strings.Join(manyArgs, ",")+`}`), status: 200, want: wantToolError},
			{name: "a 63 KiB search", body: call("1", `"list_tasks"`, `{"q":"`+strings.Repeat("q", 63*1024)+`"}`), status: 200, want: wantToolError},
			{name: "a 70 KiB body sent chunked", body: call("1", `"add_task"`, `{"title":"`+strings.Repeat("t", 70*1024)+`"}`), chunked: true, status: 413, want: wantProblem},
			// Nesting.
			{name: "params 10,000 arrays deep", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":` + nest(10000, "[", "]") + `}`, status: 400, want: wantProblem},
			{name: "arguments 10,000 arrays deep", body: call("1", `"add_task"`, nest(10000, "[", "]")), status: 400, want: wantProblem},
			{name: "a title 10,000 arrays deep", body: call("1", `"add_task"`, `{"title":`+nest(10000, "[", "]")+`}`), status: 400, want: wantProblem},
			{name: "a title 10,000 objects deep", body: call("1", `"add_task"`, `{"title":`+nest(10000, `{"a":`, "}")+`}`), status: 400, want: wantProblem},
			{name: "a title 990 arrays deep, under the SDK's bound", body: call("1", `"add_task"`, `{"title":`+nest(990, "[", "]")+`}`), status: 200, want: wantToolError},
			{name: "a tag 990 arrays deep, on the query", body: call("1", `"list_tasks"`, `{"tag":`+nest(990, "[", "]")+`}`), status: 200, want: wantToolError},
			{name: "a task field 990 objects deep", body: call("1", `"update_task"`, fmt.Sprintf(`{"id":%d,"tags":`, p.aliceTask)+nest(990, `{"a":`, "}")+`}`), status: 200, want: wantToolError},
			// Unknown methods.
			{name: "an unknown method", body: `{"jsonrpc":"2.0","id":1,"method":"tasks/drop"}`, status: 400, want: wantProblem},
			{name: "tools/call in capitals", body: strings.Replace(add("1"), "tools/call", "TOOLS/CALL", 1), status: 400, want: wantProblem},
			{name: "tools/call with a trailing space", body: strings.Replace(add("1"), "tools/call", "tools/call ", 1), status: 400, want: wantProblem},
			{name: "a client's method sent to the server", body: `{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}`, status: 400, want: wantProblem},
			{name: "a method that is no string", body: `{"jsonrpc":"2.0","id":1,"method":5}`, status: 400, want: wantProblem},
			{name: "no jsonrpc member", body: `{"id":1,"method":"tools/list"}`, status: 400, want: wantProblem},
			{name: "JSON-RPC 1.0", body: `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`, status: 400, want: wantProblem},
			{name: "a truncated message", body: `{"jsonrpc":"2.0","id":1,"method":"tools/ca`, status: 400, want: wantProblem},
			{name: "params that are an array", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}`, status: 200, want: wantRPCError},
			// Unknown tools.
			{name: "an unknown tool", body: call("1", `"drop_tasks"`, `{}`), status: 200, want: wantRPCError},
			{name: "a tool in capitals", body: call("1", `"ADD_TASK"`, `{"title":"x"}`), status: 200, want: wantRPCError},
			{name: "a tool with a trailing space", body: call("1", `"add_task "`, `{"title":"x"}`), status: 200, want: wantRPCError},
			{name: "a tool with a NUL", body: call("1", `"add_task\u0000"`, `{"title":"x"}`), status: 200, want: wantRPCError},
			{name: "an empty tool name", body: call("1", `""`, `{"title":"x"}`), status: 200, want: wantRPCError},
			{name: "a 10 KB tool name", body: call("1", `"`+strings.Repeat("n", 10000)+`"`, `{}`), status: 200, want: wantRPCError},
			{name: "a tool name that is a number", body: call("1", `5`, `{}`), status: 200, want: wantRPCError},
			{name: "no tool name", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"title":"x"}}}`, status: 200, want: wantRPCError},
			{name: "arguments that are a string", body: call("1", `"add_task"`, `"title=x"`), status: 200, want: wantToolError},
			{name: "arguments that are an array", body: call("1", `"add_task"`, `[{"title":"x"}]`), status: 200, want: wantToolError},
			// Notifications: no id, so nothing may act.
			{name: "a tool call without id", body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"add_task","arguments":{"title":"planted"}}}`, status: 400, want: wantProblem},
			{name: "a tool call with a null id", body: add("null"), status: 400, want: wantProblem},
			{name: "a delete without id", body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_task","arguments":{"id":` + fmt.Sprint(p.aliceTask) + `}}}`, status: 400, want: wantProblem},
			{name: "an unknown notification", body: `{"jsonrpc":"2.0","method":"notifications/drop"}`, status: 400, want: wantProblem},
			{name: "initialized", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, status: 202, want: wantAccepted},
			{name: "cancelled for a request never sent", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, status: 202, want: wantAccepted},
			{name: "a response nobody asked for", body: `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, status: 202, want: wantAccepted},
			{name: "an error response nobody asked for", body: `{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}`, status: 202, want: wantAccepted},
			// Ids of odd types.
			{name: "an object id", body: add("{}"), status: 400, want: wantProblem},
			{name: "an array id", body: add("[1]"), status: 400, want: wantProblem},
			{name: "a boolean id", body: add("true"), status: 400, want: wantProblem},
			{name: "an id out of float range", body: add("1e400"), status: 400, want: wantProblem},
			{name: "a negative id", body: get("-1"), status: 200, want: wantResult, id: "-1"},
			{name: "an empty string id", body: get(`""`), status: 200, want: wantResult, id: `""`},
			{name: "an id of control characters", body: get(`"\u0000\r\n"`), status: 200, want: wantResult, id: `"\u0000\r\n"`},
			{name: "a 10 KB string id", body: get(`"` + strings.Repeat("i", 10000) + `"`), status: 200, want: wantResult, id: `"` + strings.Repeat("i", 10000) + `"`},
			// The SDK reads a numeric id as an int64: 1.5 is answered as 1
			// and 2^63 as -2^63. Answered, not refused: nothing to fix here.
			{name: "a fractional id", body: get("1.5"), status: 200, want: wantResult},
			{name: "an id past int64", body: get("9223372036854775808"), status: 200, want: wantResult},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				defer p.unchanged(t) // also after a Fatal, so that it fails this case only
				p.raw(t, tc)
			})
		}
	})
}

// raw posts tc's body as Alice and checks the answer against tc.
func (p *mcpTarget) raw(t *testing.T, tc mcpCase) {
	t.Helper()
	var body io.Reader = strings.NewReader(tc.body)
	if tc.chunked {
		body = io.MultiReader(body) // no length: sent chunked
	}
	req, _ := http.NewRequest("POST", p.e.baseURL+"/mcp", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+p.alice)
	if tc.version != "" {
		req.Header.Set("Mcp-Protocol-Version", tc.version)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 500 || res.StatusCode != tc.status {
		t.Fatalf("%d, want %d: %.500s", res.StatusCode, tc.status, raw)
	}
	p.clean(t, string(raw))
	ct := res.Header.Get("Content-Type")
	switch tc.want {
	case wantProblem:
		if !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("Content-Type %q: %.300s", ct, raw)
		}
		var pr problemBody
		if json.Unmarshal(raw, &pr) != nil || pr.Status != tc.status || pr.Detail == "" {
			t.Errorf("not a problem: %.300s", raw)
		}
		return
	case wantAccepted:
		if len(raw) != 0 {
			t.Errorf("a body: %.300s", raw)
		}
		return
	}
	var a rpcAnswer
	if !strings.HasPrefix(ct, "application/json") || json.Unmarshal(raw, &a) != nil {
		t.Fatalf("%q: not one JSON-RPC answer: %.300s", ct, raw)
	}
	switch tc.want {
	case wantRPCError:
		if a.Error == nil || a.Error.Code == 0 || a.Result != nil {
			t.Errorf("want a JSON-RPC error: %.300s", raw)
		}
	case wantToolError:
		if a.Result == nil || !a.Result.IsError || len(a.Result.StructuredContent) != 0 {
			t.Errorf("want a tool error: %.300s", raw)
		}
	case wantResult:
		if a.Result == nil || a.Error != nil {
			t.Errorf("want a result: %.300s", raw)
		}
	}
	if tc.id != "" && string(a.ID) != tc.id {
		t.Errorf("id %.80s, want %.80s", a.ID, tc.id)
	}
}

// try calls tool as s and returns what it answered; a JSON-RPC error
// fails the test (every case here is a tool call the server knows).
func try(t *testing.T, s *mcp.ClientSession, tool string, args any) (*mcp.CallToolResult, string) {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	raw, _ := json.Marshal(res)
	return res, string(raw)
}

// refused checks that a tool call was a tool error with a message and no
// structured content, showing nothing it must not.
func (p *mcpTarget) refused(t *testing.T, res *mcp.CallToolResult, raw string) {
	t.Helper()
	if !res.IsError || res.StructuredContent != nil || len(res.Content) == 0 {
		t.Fatalf("want a tool error: %s", raw)
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); !ok || tc.Text == "" {
		t.Errorf("a tool error without a message: %s", raw)
	}
	p.clean(t, raw)
}

// wrongValues are, for a property's schema, values of every JSON type the
// schema does not allow. A query tool (list_tasks, task_stats) sends a
// scalar as its text, as a REST client would write it, so there only what
// a query cannot carry is of the wrong type: objects, and arrays of them.
func wrongValues(schema map[string]any, query bool) []any {
	object, objects := map[string]any{"a": 1}, []any{map[string]any{"a": 1}}
	if query {
		return []any{object, objects}
	}
	allowed := map[string]bool{}
	switch ty := schema["type"].(type) {
	case string:
		allowed[ty] = true
	case []any:
		for _, v := range ty {
			allowed[fmt.Sprint(v)] = true
		}
	}
	if allowed["number"] {
		allowed["integer"] = true
	}
	var out []any
	for _, v := range []struct {
		ty    string
		value any
	}{
		{"string", "7"}, {"integer", 7}, {"number", 1.5}, {"boolean", true},
		{"object", object}, {"array", objects}, {"null", nil},
	} {
		if !allowed[v.ty] {
			out = append(out, v.value)
		}
	}
	return out
}

// TestAttackMCPArgumentTypes: every argument of every tool, as tools/list
// describes them, with a value of each type its schema does not allow,
// the other arguments valid: a tool error each time, and nothing changes.
func TestAttackMCPArgumentTypes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		p := newMCPTarget(t, e)
		listed, err := p.aliceAgent.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// valid is a call of each tool that would succeed: one wrong
		// argument is then the only reason to refuse it.
		valid := map[string]map[string]any{
			"add_task":      {"title": "planted"},
			"update_task":   {"id": p.aliceTask},
			"complete_task": {"id": p.aliceTask},
			"move_task":     {"id": p.aliceTask},
			"get_task":      {"id": p.aliceTask},
			"delete_task":   {"id": p.aliceTask},
			"add_list":      {"name": "planted"},
		}
		query := map[string]bool{"list_tasks": true, "task_stats": true}
		cases := 0
		for _, tool := range listed.Tools {
			raw, _ := json.Marshal(tool.InputSchema)
			var schema struct {
				Properties map[string]map[string]any `json:"properties"`
			}
			if err := json.Unmarshal(raw, &schema); err != nil || len(schema.Properties) == 0 {
				t.Fatalf("%s: schema %s", tool.Name, raw)
			}
			names := make([]string, 0, len(schema.Properties))
			for name := range schema.Properties {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				// user_id and id are read by the tool itself, not sent on.
				onQuery := query[tool.Name] && name != "user_id"
				values := wrongValues(schema.Properties[name], onQuery)
				if name == "user_id" {
					values = wrongValues(schema.Properties[name], false)[:5] // not null, which is "leave it out"
				}
				for _, v := range values {
					args := map[string]any{}
					for k, val := range valid[tool.Name] {
						args[k] = val
					}
					args[name] = v
					label, _ := json.Marshal(v)
					cases++
					t.Run(fmt.Sprintf("%s %s=%s", tool.Name, name, label), func(t *testing.T) {
						defer p.unchanged(t)
						res, raw := try(t, p.aliceAgent, tool.Name, args)
						p.refused(t, res, raw)
					})
				}
			}
		}
		if cases < 100 {
			t.Errorf("only %d cases from %d tools", cases, len(listed.Tools))
		}
	})
}

// TestAttackMCPForeignIDs: Alice's agent names Bob — as user_id, in every
// spelling that might compare equal, on every tool — and Bob's task and
// list ids in every argument that takes one. Each is a tool error that
// shows nothing of Bob's, and neither user's rows change.
func TestAttackMCPForeignIDs(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		p := newMCPTarget(t, e)
		listed, err := p.aliceAgent.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		type call struct {
			name, tool string
			args       map[string]any
		}
		var calls []call
		for _, tool := range listed.Tools {
			for _, who := range []string{"bob", "Bob", "BOB", " bob", "bob ", "bob\u0000", "alice/../bob", "../bob", "%62ob", "bob%2f", "alice,bob", "*", "me/../bob", "ME", "alice\u200b"} {
				args := map[string]any{"user_id": who}
				if strings.Contains(string(mustJSON(t, tool.InputSchema)), `"required":["id"`) {
					args["id"] = p.aliceTask
				}
				switch tool.Name {
				case "add_task":
					args["title"] = "planted"
				case "add_list":
					args["name"] = "planted"
				}
				calls = append(calls, call{fmt.Sprintf("%s as user_id %q", tool.Name, who), tool.Name, args})
			}
		}
		bobTask, bobList := p.bobTask, p.bobList
		for _, c := range []call{
			{"get_task of bob's task", "get_task", map[string]any{"id": bobTask}},
			{"update_task of bob's task", "update_task", map[string]any{"id": bobTask, "title": "pwned"}},
			{"complete_task of bob's task", "complete_task", map[string]any{"id": bobTask}},
			{"delete_task of bob's task", "delete_task", map[string]any{"id": bobTask}},
			{"move_task of bob's task", "move_task", map[string]any{"id": bobTask, "list_id": p.aliceList}},
			{"get_task of bob's task as user_id me", "get_task", map[string]any{"id": bobTask, "user_id": "me"}},
			{"add_task into bob's list", "add_task", map[string]any{"title": "planted", "list_id": bobList}},
			{"add_task under bob's task", "add_task", map[string]any{"title": "planted", "parent_id": bobTask}},
			{"update_task into bob's list", "update_task", map[string]any{"id": p.aliceTask, "list_id": bobList}},
			{"update_task under bob's task", "update_task", map[string]any{"id": p.aliceTask, "parent_id": bobTask}},
			{"move_task into bob's list", "move_task", map[string]any{"id": p.aliceTask, "list_id": bobList}},
			{"move_task under bob's task", "move_task", map[string]any{"id": p.aliceTask, "parent_id": bobTask}},
			{"move_task after bob's task", "move_task", map[string]any{"id": p.aliceTask, "after_id": bobTask}},
		} {
			calls = append(calls, c)
		}
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				defer p.unchanged(t)
				res, raw := try(t, p.aliceAgent, c.tool, c.args)
				p.refused(t, res, raw)
			})
		}
		// A filter naming Bob's list or task answers as one naming none:
		// nothing of his, and not even that it exists.
		const missing = 987654
		for _, c := range []struct {
			name, tool string
			bobs, none map[string]any
		}{
			{"list_tasks of bob's list", "list_tasks", map[string]any{"list": bobList}, map[string]any{"list": missing}},
			{"list_tasks of bob's list as text", "list_tasks", map[string]any{"list": fmt.Sprint(bobList)}, map[string]any{"list": fmt.Sprint(missing)}},
			{"list_tasks of bob's task's subtasks", "list_tasks", map[string]any{"parent": bobTask}, map[string]any{"parent": missing}},
			{"task_stats of bob's list", "task_stats", map[string]any{"list": bobList}, map[string]any{"list": missing}},
		} {
			t.Run(c.name, func(t *testing.T) {
				defer p.unchanged(t)
				res, raw := try(t, p.aliceAgent, c.tool, c.bobs)
				_, none := try(t, p.aliceAgent, c.tool, c.none)
				p.clean(t, raw)
				if raw != none {
					t.Errorf("bob's id answers %s, a missing one %s", raw, none)
				}
				if res.IsError {
					t.Logf("refused: %s", raw)
				}
			})
		}
		// Bob's own agent reaches his task: the ids above were real.
		if res, raw := try(t, p.bobAgent, "get_task", map[string]any{"id": bobTask}); res.IsError || !strings.Contains(raw, p.bobSecret) {
			t.Errorf("bob's own get_task: %s", raw)
		}
	})
}
