package docs

import (
	"bytes"
	"fmt"
	"strings"
)

// CORSPolicy is what a browser page on an allowed origin may do: the
// methods and request headers it may send and the response headers its
// script may read.
type CORSPolicy struct {
	Methods       []string
	AllowHeaders  []string
	ExposeHeaders []string
}

// CORS returns the policy the CORS middleware is configured with (server.go)
// and the OpenAPI document describes (corsMarker), so the page can never
// promise a header the server does not expose. A function, so that no caller
// can change the lists for everyone.
func CORS() CORSPolicy {
	return CORSPolicy{
		Methods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		// Last-Event-ID: the client's stream reader resumes with it.
		// Mcp-Protocol-Version and Mcp-Session-Id: a browser-based MCP client
		// sends them to /mcp (docs/agents.md).
		AllowHeaders: []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "Last-Event-ID", "Mcp-Protocol-Version", "Mcp-Session-Id"},
		ExposeHeaders: []string{"ETag", "Location", "X-Total-Count", "Link", "X-Request-ID", "Retry-After",
			"Idempotent-Replayed", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy",
			// An MCP client reads the resource_metadata of a 401 (RFC 9728).
			"WWW-Authenticate", "Mcp-Session-Id"},
	}
}

// corsMarker is the line of openapi.yaml's description that the lists of
// CORS() replace. An HTML comment, so that a Markdown view of the raw file
// shows nothing where the generated sentence goes.
const corsMarker = "<!-- CORS lists: generated from docs.CORS() when the document is served -->"

// corsSentence says in words what CORS() allows.
func corsSentence(p CORSPolicy) string {
	return fmt.Sprintf("A page on such an origin may send the methods %s and the headers %s, and its script may read the response headers %s.",
		strings.Join(p.Methods, ", "), codeList(p.AllowHeaders), codeList(p.ExposeHeaders))
}

// codeList is names as Markdown code, comma-separated.
func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

// withCORS is the document with the marker replaced by corsSentence, or an
// error when the marker is missing: the CORS section would then say nothing
// of the headers a page may read.
func withCORS(doc []byte, p CORSPolicy) ([]byte, error) {
	if bytes.Count(doc, []byte(corsMarker)) != 1 {
		return nil, fmt.Errorf("openapi.yaml must hold the line %q exactly once", corsMarker)
	}
	return bytes.Replace(doc, []byte(corsMarker), []byte(corsSentence(p)), 1), nil
}
