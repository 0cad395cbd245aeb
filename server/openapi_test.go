package server_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"todo-api/config"
	"todo-api/docs"
)

// TestContractCatchesDrift proves that the check env.call runs can fail: each
// exchange deviates from docs/openapi.yaml in one way, and the check must say
// where.
func TestContractCatchesDrift(t *testing.T) {
	c, err := apiContract()
	if err != nil {
		t.Fatal(err)
	}
	const task = `{"id":7,"user_id":"alice","title":"t","description":null,"completed":false,"completed_at":null,` +
		`"priority":"medium","tags":[],"due_date":null,"recurrence":null,"version":1,"next_task_id":null,` +
		`"created_at":"2026-11-27T10:00:00Z","updated_at":"2026-11-27T10:00:00Z","list_id":null,"parent_id":null,"position":"a0","remind_at":null,"reminded_at":null}`
	okHeaders := func(kv ...string) http.Header {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("X-Request-ID", "abc")
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}
	auth := http.Header{"Authorization": {"Bearer x"}}
	jsonAuth := http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}
	problem := func(status int) string {
		return fmt.Sprintf(`{"type":"about:blank","title":"x","status":%d,"detail":"d"}`, status)
	}
	problemHeaders := func(kv ...string) http.Header {
		return okHeaders(append([]string{"Content-Type", "application/problem+json"}, kv...)...)
	}
	cases := []struct {
		name string
		x    exchange
		want string // "" when the exchange keeps the contract
	}{
		{"a task as documented", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 200, respHeader: okHeaders("ETag", `"7-1"`), respBody: []byte(task)}, ""},
		{"a member missing", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 200, respHeader: okHeaders("ETag", `"7-1"`), respBody: []byte(strings.Replace(task, `"version":1,`, "", 1))},
			`"version"`},
		{"a member of the wrong type", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 200, respHeader: okHeaders("ETag", `"7-1"`), respBody: []byte(strings.Replace(task, `"completed":false`, `"completed":"no"`, 1))},
			"/completed"},
		{"a member the document does not list", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 200, respHeader: okHeaders("ETag", `"7-1"`), respBody: []byte(strings.Replace(task, `{`, `{"colour":"red",`, 1))},
			"colour"},
		{"a date that is not RFC 3339", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 200, respHeader: okHeaders("ETag", `"7-1"`), respBody: []byte(strings.Replace(task, `"due_date":null`, `"due_date":"2026-12-01"`, 1))},
			"due_date"},
		{"a required header missing", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 200, respHeader: okHeaders(), respBody: []byte(task)},
			`"ETag" missing`},
		{"a header of the wrong shape", exchange{method: "GET", target: "/api/alice/tasks", header: auth,
			status: 200, respHeader: okHeaders("X-Total-Count", "many"), respBody: []byte("[]")},
			`"X-Total-Count"`},
		{"a status the operation does not list", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 409, respHeader: problemHeaders(), respBody: []byte(problem(409))},
			"status is not supported"},
		{"an error that is not problem+json", exchange{method: "GET", target: "/api/alice/tasks/7", header: auth,
			status: 404, respHeader: okHeaders("Content-Type", "text/plain"), respBody: []byte("not found")},
			`"text/plain"`},
		{"a 401 without its challenge", exchange{method: "GET", target: "/api/alice/tasks", header: auth,
			status: 401, respHeader: problemHeaders(), respBody: []byte(problem(401))},
			`"WWW-Authenticate" missing`},
		{"a 422 without errors", exchange{method: "POST", target: "/api/alice/tasks", header: jsonAuth, body: []byte(`{}`),
			status: 422, respHeader: problemHeaders(), respBody: []byte(problem(422))},
			`"errors"`},
		{"a body where the document has none", exchange{method: "DELETE", target: "/api/alice/tasks/7", header: auth,
			status: 204, respHeader: okHeaders(), respBody: []byte(`{"deleted":true}`)},
			"has no body in the document"},
		{"a request the document forbids, accepted", exchange{method: "POST", target: "/api/alice/tasks", header: jsonAuth,
			body: []byte(`{"title":"t","colour":"red"}`), status: 201,
			respHeader: okHeaders("ETag", `"7-1"`, "Location", "/api/alice/tasks/7"), respBody: []byte(task)},
			"request accepted although the document forbids it: request body"},
		{"a query parameter out of range, accepted", exchange{method: "GET", target: "/api/alice/tasks?limit=900", header: auth,
			status: 200, respHeader: okHeaders("X-Total-Count", "0"), respBody: []byte("[]")},
			`parameter "limit" in query`},
		{"a request the document forbids, refused", exchange{method: "POST", target: "/api/alice/tasks", header: jsonAuth,
			body: []byte(`{"title":"t","colour":"red"}`), status: 422,
			respHeader: problemHeaders(), respBody: []byte(`{"type":"about:blank","title":"x","status":422,"detail":"d","errors":[{"field":"colour","message":"m"}]}`)},
			""},
		{"no route, answered 404", exchange{method: "GET", target: "/nope", status: 404,
			respHeader: problemHeaders(), respBody: []byte(problem(404))}, ""},
		{"no route, answered 200", exchange{method: "GET", target: "/nope", status: 200,
			respHeader: okHeaders(), respBody: []byte(`{}`)},
			"no operation"},
		{"a 405 without Allow", exchange{method: "GET", target: "/api/alice/tasks/7/toggle", header: auth,
			status: 405, respHeader: problemHeaders(), respBody: []byte(problem(405))},
			`"Allow" missing`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.check(tc.x)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want no complaint, got %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("the deviation went unnoticed")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("the complaint does not mention %s:\n%v", tc.want, err)
			case err != nil:
				t.Logf("caught, as it should be:\n%v", err) // what a drifting test would print
			}
		})
	}
}

// TestRoutesMatchDocument compares the routes the app serves with the
// operations the document describes, both ways.
func TestRoutesMatchDocument(t *testing.T) {
	e := newEnv(t, config.SQLite)
	c, err := apiContract()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	served := map[string]bool{}
	for _, r := range e.app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "USE" {
			continue // Fiber answers HEAD for every GET route
		}
		if r.Path == "/mcp" || strings.HasPrefix(r.Path, "/.well-known/oauth-protected-resource") {
			continue // the MCP endpoint and its RFC 9728 document: docs/agents.md, not the REST document
		}
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, op := range sortedSet(served) {
		if !documented[op] {
			t.Errorf("the app serves %s, but docs/openapi.yaml does not describe it", op)
		}
	}
	for _, op := range sortedSet(documented) {
		if !served[op] {
			t.Errorf("docs/openapi.yaml describes %s, but the app does not serve it", op)
		}
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIEndpoint(t *testing.T) {
	e := newEnv(t, config.SQLite)
	r := e.call("GET", "/openapi.json", "", nil)
	want, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 200 || string(r.body) != string(want) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s %.100s", r.status, r.header.Get("Content-Type"), r.body)
	}
	etag := r.header.Get("ETag")
	if r := e.call("GET", "/openapi.json", "", nil, "If-None-Match", etag); r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match: %d %q", r.status, r.body)
	}
}

// TestDocsPage checks that the page and everything it loads come from this
// server: no URL in it points to another origin (no CDN), the browser is
// told to refuse any, and every file it names is served.
func TestDocsPage(t *testing.T) {
	e := newEnv(t, config.SQLite)
	r := e.call("GET", "/docs", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
	}
	if csp := r.header.Get("Content-Security-Policy"); csp != docs.ContentSecurityPolicy ||
		!strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	page := string(r.body)
	refs := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?([^"' >]+)`).FindAllStringSubmatch(page, -1)
	var local []string
	for _, m := range refs {
		u := m[1]
		switch {
		case u == "data:,": // the empty favicon, so the browser asks for none
		case strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
			local = append(local, u)
		default:
			t.Errorf("the page references %q, which is not on this server", u)
		}
	}
	if strings.Contains(strings.ToLower(page), "http:") || strings.Contains(strings.ToLower(page), "https:") || strings.Contains(page, "@import") {
		t.Errorf("the page names another origin:\n%s", page)
	}
	if len(local) != 3 {
		t.Errorf("want the style sheet and two scripts, got %q", local)
	}
	for _, u := range local {
		t.Run(u, func(t *testing.T) {
			zipped := e.call("GET", u, "", nil, "Accept-Encoding", "gzip, deflate, br")
			plain := e.call("GET", u, "", nil)
			if zipped.status != 200 || plain.status != 200 {
				t.Fatalf("status %d / %d", zipped.status, plain.status)
			}
			body := zipped.body
			if zipped.header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(strings.NewReader(string(body)))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			} else if u != "/docs/docs.js" {
				t.Errorf("%s not sent gzip-compressed to a client that accepts it", u)
			}
			if plain.header.Get("Content-Encoding") != "" || string(plain.body) != string(body) {
				t.Errorf("without Accept-Encoding: %q, %d bytes; compressed: %d bytes", plain.header.Get("Content-Encoding"), len(plain.body), len(body))
			}
			if len(body) < 100 {
				t.Errorf("%d bytes", len(body))
			}
			if nm := e.call("GET", u, "", nil, "If-None-Match", zipped.header.Get("ETag")); nm.status != http.StatusNotModified {
				t.Errorf("If-None-Match: %d", nm.status)
			}
		})
	}
	t.Run("the start-up script loads this server's document", func(t *testing.T) {
		js := string(e.call("GET", "/docs/docs.js", "", nil).body)
		if !strings.Contains(js, `url: "/openapi.json"`) || !strings.Contains(js, "validatorUrl: null") || strings.Contains(js, "http") {
			t.Errorf("docs.js:\n%s", js)
		}
	})
	e.call("GET", "/docs/nope.js", "", nil).problem(t, 404)
}
