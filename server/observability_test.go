package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
)

// scrape returns the /metrics text.
func (e *env) scrape() string {
	e.t.Helper()
	r := e.call("GET", "/metrics", "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("/metrics: %d %s", r.status, r.body)
	}
	return string(r.body)
}

// metricValue finds the sample of name whose labels include every one given
// ("route", "/x", ...) and returns its value text, or "" when there is none.
func metricValue(text, name string, labels ...string) string {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", labels[i], labels[i+1])) {
				ok = false
			}
		}
		if ok {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	return ""
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, config.SQLite)
	alice := e.token("alice")
	tk := e.create("alice", map[string]any{"title": "x"})
	e.call("GET", fmt.Sprintf("/api/alice/tasks/%d", tk.ID), alice, nil)
	e.call("GET", "/api/alice/tasks/999999", alice, nil)       // 404 from the handler
	e.call("GET", "/wp-login.php", "", nil)                    // 404, no route
	e.call("GET", "/secret-scan/alice/42", "", nil)            // 404, no route
	e.call("PUT", "/api/alice/tasks", alice, map[string]any{}) // 405
	e.call("GET", "/api/alice/tasks", "", nil)                 // 401 from the token check
	e.call("GET", "/api/bob/tasks", alice, nil)                // 403
	e.call("PROPFIND", "/api/alice/tasks", alice, nil)         // 400, before Fiber's router

	text := e.scrape()
	cases := []struct {
		name   string
		labels []string
		want   string
	}{
		{"todo_api_http_requests_total", []string{"method", "POST", "route", "/api/:user_id/tasks", "status", "201"}, "1"},
		{"todo_api_http_requests_total", []string{"method", "GET", "route", "/api/:user_id/tasks/:id", "status", "200"}, "1"},
		{"todo_api_http_requests_total", []string{"method", "GET", "route", "/api/:user_id/tasks/:id", "status", "404"}, "1"},
		{"todo_api_http_requests_total", []string{"method", "GET", "route", "unmatched", "status", "404"}, "2"},
		{"todo_api_http_requests_total", []string{"method", "PUT", "route", "unmatched", "status", "405"}, "1"},
		{"todo_api_http_requests_total", []string{"method", "OTHER", "route", "unmatched", "status", "400"}, "1"},
		{"todo_api_http_requests_total", []string{"method", "GET", "route", "/api/:user_id/tasks", "status", "401"}, "1"},
		{"todo_api_http_requests_total", []string{"method", "GET", "route", "/api/:user_id/tasks", "status", "403"}, "1"},
		{"todo_api_http_request_duration_seconds_count", []string{"method", "POST", "route", "/api/:user_id/tasks", "status", "201"}, "1"},
		// The scrape itself is in flight while it is rendered.
		{"todo_api_http_requests_in_flight", nil, "1"},
		{"todo_api_build_info", []string{"version", "test", "commit", "test-commit"}, "1"},
		{"go_sql_max_open_connections", []string{"db_name", "todo"}, "1"},
	}
	for _, c := range cases {
		if got := metricValue(text, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %q, want %q", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_sql_open_connections", "go_sql_in_use_connections", "go_sql_idle_connections",
		"go_sql_wait_count_total", "go_sql_wait_duration_seconds_total", "go_goroutines", "process_resident_memory_bytes"} {
		if metricValue(text, name) == "" {
			t.Errorf("no %s", name)
		}
	}
	// Bounded labels: never a raw path, a task id or a user id.
	for _, leak := range []string{"alice", "bob", "wp-login", "secret-scan", "999999", fmt.Sprintf("/tasks/%d", tk.ID)} {
		for _, line := range strings.Split(text, "\n") {
			// Only the name and labels: a value such as 0.000185799999 is no leak.
			series, _, _ := strings.Cut(line, " ")
			if strings.HasPrefix(line, "todo_api_") && strings.Contains(series, leak) {
				t.Errorf("metric line carries %q: %s", leak, line)
			}
		}
	}
	// JWKS refreshes appear once the key source reports one.
	if strings.Contains(text, "todo_api_jwks_refresh_total{") {
		t.Error("JWKS refresh series exist without JWKS")
	}
	e.metrics.JWKSRefreshed(nil)
	e.metrics.JWKSRefreshed(io.ErrUnexpectedEOF)
	text = e.scrape()
	if metricValue(text, "todo_api_jwks_refresh_total", "result", "ok") != "1" || metricValue(text, "todo_api_jwks_refresh_total", "result", "error") != "1" {
		t.Errorf("JWKS refresh counts missing:\n%s", grep(text, "jwks"))
	}
}

func TestMetricsOnSeparateAddress(t *testing.T) {
	e := newEnv(t, config.SQLite, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
	e.call("GET", "/metrics", "", nil).problem(t, http.StatusNotFound)
}

func grep(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestAccessLog checks the one line per request and that no token, secret
// or body ever reaches the log, whatever the request did.
func TestAccessLog(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		alice := e.token("alice")
		expired := e.token("alice", func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(-time.Hour).Unix() })
		forged := sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123"), jwt.MapClaims{"sub": "alice", "exp": e.clock.Now().Add(time.Hour).Unix()})
		const bodyMarker = "body-marker-7f3a"
		reqs := []struct {
			method, path, token string
			body                any
			headers             []string
		}{
			{"POST", "/api/alice/tasks", alice, map[string]any{"title": bodyMarker, "description": bodyMarker}, []string{"X-Request-ID", "client-req-1"}},
			{"POST", "/api/alice/tasks", alice, `{"title": "` + bodyMarker, nil},                  // malformed JSON
			{"POST", "/api/alice/tasks", alice, map[string]any{"title": bodyMarker, "x": 1}, nil}, // unknown field
			{"GET", "/api/alice/tasks", expired, nil, nil},
			{"GET", "/api/alice/tasks", forged, nil, nil},
			{"GET", "/api/alice/tasks", "not-a-jwt-" + bodyMarker, nil, nil},
			{"GET", "/api/bob/tasks", alice, nil, nil},
			{"GET", "/api/alice/tasks?q=" + bodyMarker, alice, nil, nil},
			// Answered before Fiber's middleware (server/methods.go), logged all the same.
			{"PROPFIND", "/api/alice/tasks/" + bodyMarker, alice, `{"title": "` + bodyMarker + `"}`, []string{"X-Request-ID", "client-req-propfind"}},
		}
		for _, r := range reqs {
			e.call(r.method, r.path, r.token, r.body, r.headers...)
		}

		logs := e.logs.String()
		for _, secret := range []string{alice, expired, forged, testSecret, bodyMarker, "Bearer"} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log holds %.20q…", secret)
			}
		}
		var lines []map[string]any
		sc := bufio.NewScanner(strings.NewReader(logs))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("log line is not JSON: %s", sc.Text())
			}
			if line["msg"] == "request" {
				lines = append(lines, line)
			}
		}
		if len(lines) != len(reqs) {
			t.Fatalf("%d access lines for %d requests:\n%s", len(lines), len(reqs), logs)
		}
		first := lines[0]
		if first["method"] != "POST" || first["route"] != "/api/:user_id/tasks" || first["status"] != 201.0 ||
			first["user_id"] != "alice" || first["request_id"] != "client-req-1" {
			t.Errorf("first line %v", first)
		}
		if _, ok := first["duration_ms"].(float64); !ok {
			t.Errorf("no duration in %v", first)
		}
		routePattern := regexp.MustCompile(`^(/[a-z:_]*)+$|^unmatched$`)
		for _, l := range lines {
			if route, _ := l["route"].(string); !routePattern.MatchString(route) || strings.Contains(route, "alice") {
				t.Errorf("route %q is not a pattern", route)
			}
			if id, _ := l["request_id"].(string); id == "" {
				t.Errorf("line without request id: %v", l)
			}
		}
		if lines[3]["status"] != 401.0 || lines[3]["user_id"] != "" {
			t.Errorf("expired token line %v", lines[3])
		}
		if last := lines[len(lines)-1]; last["method"] != "OTHER" || last["route"] != "unmatched" || last["status"] != 400.0 ||
			last["request_id"] != "client-req-propfind" {
			t.Errorf("unknown method's line %v", last)
		}
	})
}
