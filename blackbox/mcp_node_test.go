//go:build e2e

package blackbox_test

// Two MCP clients nobody here wrote, against the built binary's /mcp: the
// official TypeScript SDK (e2e/mcp/client.mjs, under node --test) and the
// MCP Inspector's CLI. They need Node.js and `npm ci` in e2e/mcp, so this
// file is behind the e2e build tag, and a missing piece fails the test
// rather than skipping it; .ci/run runs it with
//
//	npm ci --prefix e2e/mcp && go test -tags e2e -run '^TestMCPClients$' ./blackbox/

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"todo-api/internal/testpg"
)

func TestMCPClients(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; this test needs Node.js >= 20.19")
	}
	dir, err := filepath.Abs(filepath.Join("..", "e2e", "mcp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"@modelcontextprotocol/sdk", "@modelcontextprotocol/inspector-cli"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed: run npm ci in e2e/mcp", pkg)
		}
	}
	for _, db := range []struct{ name, env string }{
		{"sqlite", "DATABASE_URL="},
		{"postgres", "DATABASE_URL=" + testpg.NewDatabase(t)},
	} {
		t.Run(db.name, func(t *testing.T) {
			svc := start(t, db.env)
			alice, bob := token(t, "alice"), token(t, "bob")
			t.Run("typescript sdk", func(t *testing.T) {
				out, err := runNode(t, dir, 2*time.Minute, []string{"MCP_URL=" + svc.base + "/mcp", "TOKEN_ALICE=" + alice, "TOKEN_BOB=" + bob},
					node, "--test", "--test-reporter=spec", "client.mjs")
				if err != nil || !strings.Contains(out, "fail 0") {
					t.Fatalf("client.mjs: %v\n%s", err, out)
				}
				t.Logf("client.mjs:\n%s", out)
			})
			t.Run("inspector cli", func(t *testing.T) { inspect(t, node, dir, svc.base+"/mcp", alice, bob) })
		})
	}
}

// inspect lists and calls tools with the Inspector's CLI, as alice and bob.
func inspect(t *testing.T, node, dir, url, alice, bob string) {
	cli := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector-cli", "build", "cli.js")
	run := func(tok string, args ...string) (map[string]any, error) {
		t.Helper()
		full := append([]string{cli, "--cli", url, "--transport", "http"}, args...)
		if tok != "" {
			full = append(full, "--header", "Authorization: Bearer "+tok)
		}
		out, err := runNode(t, dir, time.Minute, nil, node, full...)
		if err != nil {
			return nil, err
		}
		// The JSON answer follows the CLI's deprecation banner.
		var v map[string]any
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &v); err != nil {
			t.Fatalf("inspector output is not JSON: %v\n%s", err, out)
		}
		return v, nil
	}

	listed, err := run(alice, "--method", "tools/list")
	if err != nil {
		t.Fatal(err)
	}
	tools, _ := listed["tools"].([]any)
	if len(tools) != 10 {
		t.Fatalf("tools/list: %d tools: %v", len(tools), listed)
	}
	added, err := run(alice, "--method", "tools/call", "--tool-name", "add_task", "--tool-arg", "title=From the Inspector", `--tool-arg`, `tags=["cli"]`)
	if err != nil {
		t.Fatal(err)
	}
	task, _ := added["structuredContent"].(map[string]any)
	id, _ := task["id"].(float64)
	if task["title"] != "From the Inspector" || task["user_id"] != "alice" || id < 1 {
		t.Fatalf("add_task: %v", added)
	}
	got, err := run(bob, "--method", "tools/call", "--tool-name", "get_task", "--tool-arg", "id="+strconv.FormatInt(int64(id), 10))
	if err != nil {
		t.Fatal(err)
	}
	if got["isError"] != true || !strings.Contains(jsonText(got), "No task with this id.") {
		t.Errorf("bob's get_task of alice's task: %v", got)
	}
	if _, err := run("", "--method", "tools/list"); err == nil {
		t.Error("the Inspector listed tools without a token")
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// runNode runs node with args in dir and returns its output.
func runNode(t *testing.T, dir string, within time.Duration, env []string, node string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
