package server_test

import (
	"net/http"
	"strings"
	"testing"

	"todo-api/config"
	"todo-api/docs"
)

// TestCORSMatchesDocument checks that the headers the CORS middleware sends
// are exactly the lists the OpenAPI document's CORS section is generated from.
func TestCORSMatchesDocument(t *testing.T) {
	e := newEnv(t, config.SQLite)
	p := docs.CORS()
	preflight := e.call("OPTIONS", "/api/alice/tasks", "", nil,
		"Origin", "http://localhost:3000", "Access-Control-Request-Method", "PATCH")
	real := e.call("GET", "/api/alice/tasks", e.token("alice"), nil, "Origin", "http://localhost:3000")
	cases := []struct {
		name   string
		r      response
		status int
		header string
		want   []string
	}{
		{"preflight methods", preflight, http.StatusNoContent, "Access-Control-Allow-Methods", p.Methods},
		{"preflight request headers", preflight, http.StatusNoContent, "Access-Control-Allow-Headers", p.AllowHeaders},
		{"exposed on a real request", real, http.StatusOK, "Access-Control-Expose-Headers", p.ExposeHeaders},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r.status != tc.status {
				t.Fatalf("status %d, want %d", tc.r.status, tc.status)
			}
			if got, want := tc.r.header.Get(tc.header), strings.Join(tc.want, ","); got != want {
				t.Errorf("%s = %q, want %q", tc.header, got, want)
			}
		})
	}
}
