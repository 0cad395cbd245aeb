//go:build e2e

package betterauth_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// agents drives /mcp with Better Auth's own tokens: alice's agent adds a
// task that is hers, bob's cannot read it, a request without a token is
// sent to the RFC 9728 document, and that document names Better Auth.
func agents(t *testing.T, apiURL, authURL string, alice, bob *user) {
	added := mcpCall(t, apiURL, alice.token, "add_task", map[string]any{"title": "from alice's agent"})
	task, _ := added["structuredContent"].(map[string]any)
	id, _ := task["id"].(float64)
	if added["isError"] == true || task["user_id"] != alice.id || id < 1 {
		t.Fatalf("alice's add_task: %v", added)
	}
	if got := mcpCall(t, apiURL, bob.token, "get_task", map[string]any{"id": id}); got["isError"] != true ||
		!strings.Contains(fmt.Sprint(got["content"]), "No task with this id.") {
		t.Errorf("bob's get_task of alice's task: %v", got)
	}
	if got := mcpCall(t, apiURL, alice.token, "delete_task", map[string]any{"id": id}); got["isError"] == true {
		t.Errorf("alice's delete_task: %v", got)
	}

	res, err := http.Post(apiURL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := `Bearer resource_metadata="` + apiURL + `/.well-known/oauth-protected-resource"`; res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != want {
		t.Errorf("/mcp without a token: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	status, body := call(t, "GET", apiURL+"/.well-known/oauth-protected-resource", "", nil)
	var doc struct {
		Servers []string `json:"authorization_servers"`
	}
	if status != 200 || json.Unmarshal(body, &doc) != nil || len(doc.Servers) != 1 || doc.Servers[0] != authURL {
		t.Errorf("resource metadata: %d %s", status, body)
	}
}

// mcpCall sends one tools/call to the stateless /mcp and returns its result.
func mcpCall(t *testing.T, apiURL, token, tool string, args map[string]any) map[string]any {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	req, _ := http.NewRequest("POST", apiURL+"/mcp", strings.NewReader(string(msg)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var answer struct {
		Result map[string]any `json:"result"`
	}
	if res.StatusCode != 200 || json.Unmarshal(raw, &answer) != nil || answer.Result == nil {
		t.Fatalf("%s: %d %s", tool, res.StatusCode, raw)
	}
	return answer.Result
}
