package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"todo-api/internal/bombtest"
)

// The protocol attacks are abuse of HTTP itself: methods a route does not
// have (405 with Allow, never a silent override), TRACE (no echo of the
// request, so no cross-site tracing), headers and URLs too large to read
// (431), compressed bodies that would inflate a thousandfold (415, never
// inflated), and browsers from origins not in CORS_ORIGINS (no
// Access-Control-Allow-Origin, so the browser keeps the answer from them).

// TestAttackMethods: a method a route lacks is 405 with Allow, an unknown
// one 400; no header or parameter overrides the method.
func TestAttackMethods(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		p.run(t, []attack{
			{name: "PUT on the collection", method: "PUT", path: "/api/alice/tasks", body: map[string]any{"title": "x"}, status: 405, check: p.allow("GET", "POST", "DELETE")},
			{name: "PATCH on the collection", method: "PATCH", path: "/api/alice/tasks", body: map[string]any{"completed": true}, status: 405, check: p.allow("GET", "POST", "DELETE")},
			{name: "POST on a task", method: "POST", path: p.one, body: map[string]any{"title": "x"}, status: 405, check: p.allow("GET", "PUT", "PATCH", "DELETE")},
			{name: "GET on toggle", method: "GET", path: p.one + "/toggle", status: 405, check: p.allow("PATCH")},
			{name: "POST on complete", method: "POST", path: p.one + "/complete", status: 405, check: p.allow("PATCH")},
			{name: "DELETE on toggle", method: "DELETE", path: p.one + "/toggle", status: 405, check: p.allow("PATCH")},
			{name: "POST on stats", method: "POST", path: "/api/alice/tasks/stats", status: 405, check: p.allow("GET")},
			{name: "DELETE on stats names no task", method: "DELETE", path: "/api/alice/tasks/stats", status: 404, check: p.nothingChanged},
			{name: "POST on healthz", method: "POST", path: "/healthz", status: 405, check: p.allow("GET")},
			{name: "TRACE on a task", method: "TRACE", path: p.one, status: 405, check: p.allow("GET")},
			{name: "TRACE on the collection", method: "TRACE", path: "/api/alice/tasks", status: 405, check: p.allow("GET")},
			{name: "TRACE on healthz", method: "TRACE", path: "/healthz", status: 405, check: p.allow("GET")},
			{name: "TRACE on an unknown path", method: "TRACE", path: "/nope", status: 404},
			{name: "PROPFIND on a task (WebDAV)", method: "PROPFIND", path: p.one, status: 400, check: p.nothingChanged},
			{name: "DELETE spelled in lower case is not DELETE", method: "delete", path: p.one, status: 400, check: p.nothingChanged},
			{name: "PURGE on the collection", method: "PURGE", path: "/api/alice/tasks", status: 400, check: p.nothingChanged},
			{name: "X-HTTP-Method-Override DELETE on POST", method: "POST", path: p.one, headers: []string{"X-HTTP-Method-Override", "DELETE"}, status: 405, check: p.allow("GET")},
			{name: "X-HTTP-Method-Override DELETE on GET is ignored", method: "GET", path: p.one, headers: []string{"X-HTTP-Method-Override", "DELETE", "X-Method-Override", "DELETE"}, status: 200, check: p.nothingChanged},
			{name: "_method=DELETE in the query is not an override", method: "POST", path: p.one + "?_method=DELETE", status: 405, check: p.allow("GET")},
		})
	})
}

// TestAttackSizes: headers, URLs and header values too large to read are
// 431 before anything else reads them.
func TestAttackSizes(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		var many []string
		for i := 0; i < 200; i++ {
			many = append(many, fmt.Sprintf("X-Filler-%03d", i), strings.Repeat("f", 100))
		}
		p.run(t, []attack{
			{name: "200 headers of 100 bytes", method: "GET", path: "/api/alice/tasks", headers: many, status: 431},
			{name: "a 20 KiB cookie", method: "GET", path: "/api/alice/tasks", headers: []string{"Cookie", "c=" + strings.Repeat("c", 20*1024)}, status: 431},
			{name: "a 20 KiB URL", method: "GET", path: "/api/alice/tasks?q=" + strings.Repeat("q", 20*1024), status: 431},
			{name: "a 20 KiB Idempotency-Key", method: "POST", path: "/api/alice/tasks", body: map[string]any{"title": "x"}, headers: []string{"Idempotency-Key", strings.Repeat("k", 20*1024)}, status: 431, check: p.nothingChanged},
			{name: "a 256-character Idempotency-Key", method: "POST", path: "/api/alice/tasks", body: map[string]any{"title": "x"}, headers: []string{"Idempotency-Key", strings.Repeat("k", 256)}, status: 422, check: p.nothingChanged},
			{name: "an 8 KiB If-Match list", method: "DELETE", path: p.one, headers: []string{"If-Match", strings.Repeat(fmt.Sprintf(`"%d-99", `, p.task), 8*1024/8)}, status: 412, check: p.nothingChanged},
		})
	})
}

// TestAttackCompressedBodies: a compressed body is 415 and never inflated,
// before the token is looked at.
func TestAttackCompressedBodies(t *testing.T) {
	bombs := map[string]string{}
	for _, enc := range bombtest.Encodings() {
		b, err := bombtest.Make(enc)
		if err != nil {
			t.Fatal(err)
		}
		bombs[enc] = string(b)
	}
	eachTarget(t, func(t *testing.T, p *target) {
		refused := func(t *testing.T, r response) {
			t.Helper()
			if got := r.header.Get("Accept-Encoding"); got != "identity" {
				t.Errorf("Accept-Encoding %q, want identity", got)
			}
			p.nothingChanged(t, r)
		}
		encoded := func(enc string) []string { return []string{"Content-Encoding", enc} }
		var cases []attack
		for _, enc := range bombtest.Encodings() {
			cases = append(cases,
				attack{name: enc + " bomb on create", method: "POST", path: "/api/alice/tasks", body: bombs[enc], headers: encoded(enc), status: 415, check: refused},
				attack{name: enc + " bomb on a task", method: "PATCH", path: p.one, body: bombs[enc], headers: encoded(enc), status: 415, check: refused},
			)
		}
		cases = append(cases,
			attack{name: "a bomb is refused before the token is looked at", method: "POST", path: "/api/alice/tasks", token: "not-a-token", body: bombs["gzip"], headers: encoded("gzip"), status: 415, check: refused},
			attack{name: "gzip stacked after identity", method: "POST", path: "/api/alice/tasks", body: bombs["gzip"], headers: encoded("identity, gzip"), status: 415, check: refused},
			attack{name: "GZIP in capitals", method: "POST", path: "/api/alice/tasks", body: bombs["gzip"], headers: encoded("GZIP"), status: 415, check: refused},
			attack{name: "a coding nobody knows", method: "PUT", path: p.one, body: `{"title":"x"}`, headers: encoded("x-custom"), status: 415, check: refused},
			attack{name: "a coding named on a GET without a body", method: "GET", path: p.one, headers: encoded("gzip"), status: 200, check: p.nothingChanged},
		)
		p.run(t, cases)
	})
}

// TestAttackCORS: browsers on other origins get no CORS grant, on
// preflights, requests and errors alike.
func TestAttackCORS(t *testing.T) {
	eachTarget(t, func(t *testing.T, p *target) {
		preflight := func(origin, method, headers string) []string {
			return []string{"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers}
		}
		noCORS := func(t *testing.T, r response) {
			t.Helper()
			for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"} {
				if v := r.header.Get(h); v != "" {
					t.Errorf("%s: %q", h, v)
				}
			}
		}
		var cases []attack
		for _, origin := range []string{
			"http://evil.example",
			"null",
			"http://localhost:3000.evil.example",
			"http://evil.localhost:3000",
			"https://localhost:3000",
			"http://localhost:3001",
			"http://localhost",
			"http://localhost:3000/evil",
			"*",
		} {
			cases = append(cases,
				attack{name: "preflight from " + origin, method: "OPTIONS", path: "/api/alice/tasks", headers: preflight(origin, "DELETE", "authorization"), status: 204, check: noCORS},
				attack{name: "request from " + origin, method: "GET", path: "/api/alice/tasks", token: p.alice, headers: []string{"Origin", origin}, status: 200, check: noCORS},
			)
		}
		cases = append(cases,
			attack{name: "preflight for TRACE from the allowed origin", method: "OPTIONS", path: "/api/alice/tasks", headers: preflight("http://localhost:3000", "TRACE", "authorization"), status: 204, check: func(t *testing.T, r response) {
				if m := r.header.Get("Access-Control-Allow-Methods"); strings.Contains(m, "TRACE") {
					t.Errorf("Allow-Methods %q", m)
				}
			}},
			attack{name: "preflight for an unlisted header from the allowed origin", method: "OPTIONS", path: "/api/alice/tasks", headers: preflight("http://localhost:3000", "GET", "x-evil"), status: 204, check: func(t *testing.T, r response) {
				if h := r.header.Get("Access-Control-Allow-Headers"); strings.Contains(strings.ToLower(h), "x-evil") {
					t.Errorf("Allow-Headers %q", h)
				}
			}},
			attack{name: "error responses carry no CORS grant for another origin either", method: "GET", path: "/api/alice/tasks", headers: []string{"Origin", "http://evil.example", "Authorization", "Bearer x"}, status: http.StatusUnauthorized, check: noCORS},
		)
		p.run(t, cases)
	})
}
