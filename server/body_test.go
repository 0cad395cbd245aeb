package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"todo-api/config"
)

// rawConn is one client connection that sends requests byte for byte, to
// send what net/http would not (chunked bodies of a chosen shape, two
// Content-Encoding headers) and to see whether the connection survives.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (e *env) dialRaw(t *testing.T) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends req and reads the answer, with its body.
func (rc *rawConn) do(req string) (*http.Response, []byte) {
	rc.t.Helper()
	_ = rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(rc.c, req); err != nil {
		rc.t.Fatalf("writing: %v", err)
	}
	res, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("reading the answer: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		rc.t.Fatalf("reading the answer's body: %v", err)
	}
	return res, body
}

// head is a request head for method and path with the given header lines.
func head(method, path, token string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: test\r\n", method, path)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	return b.String() + "\r\n"
}

// chunked is body in chunked transfer coding, in chunks of at most size.
func chunked(body string, size int) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	return b.String() + "0\r\n\r\n"
}

// TestRequestBodies: bodies are read only within the limit and after the
// token check, and whatever a handler does not read is drained, so the
// client gets its answer and a keep-alive connection its next request.
func TestRequestBodies(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice, bob := e.token("alice"), e.token("bob")
		json := "Content-Type: application/json"
		big := `{"title":"x","description":"` + strings.Repeat("d", 100<<10) + `"}`
		sized := func(body string) string { return fmt.Sprintf("Content-Length: %d", len(body)) }
		cases := []struct {
			name   string
			req    string
			status int
			// kept is whether the connection carries another request after.
			kept bool
		}{
			{"a chunked body within the limit", head("POST", "/api/alice/tasks", alice, json, "Transfer-Encoding: chunked") + chunked(`{"title":"chunked"}`, 5), 201, true},
			{"a chunked body over the limit", head("POST", "/api/bob/tasks", bob, json, "Transfer-Encoding: chunked") + chunked(big, 8<<10), 413, true},
			{"a declared 100 KiB body, sent, with a token", head("POST", "/api/alice/tasks", alice, json, sized(big)) + big, 413, false},
			{"a declared 100 KiB body, sent, without a token", head("POST", "/api/bob/tasks", "", json, sized(big)) + big, 413, false},
			{"a body with a token that fails is drained", head("POST", "/api/bob/tasks", "garbage", json, sized(`{"title":"x"}`)) + `{"title":"x"}`, 401, true},
			{"a chunked body with a token that fails is drained", head("POST", "/api/alice/tasks", "garbage", json, "Transfer-Encoding: chunked") + chunked(`{"title":"x"}`, 3), 401, true},
			{"a body on a route that takes none is drained", head("GET", "/healthz", "", sized("ignored")) + "ignored", 200, true},
			{"a body to another user's path is drained", head("POST", "/api/bob/tasks", alice, json, sized(`{"title":"x"}`)) + `{"title":"x"}`, 403, true},
			{"Content-Encoding identity is no coding", head("POST", "/api/bob/tasks", bob, json, "Content-Encoding: identity", sized(`{"title":"plain"}`)) + `{"title":"plain"}`, 201, true},
			{"a second Content-Encoding header naming gzip", head("POST", "/api/bob/tasks", bob, json, "Content-Encoding: identity", "Content-Encoding: gzip", sized(`{"title":"x"}`)) + `{"title":"x"}`, 415, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rc := e.dialRaw(t)
				res, body := rc.do(tc.req)
				if res.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
				}
				if tc.status >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
				}
				if !tc.kept {
					if !res.Close {
						t.Error("the answer does not close the connection")
					}
					return
				}
				if res.Close {
					t.Fatal("the connection was closed")
				}
				if next, body := rc.do(head("GET", "/api/alice/tasks", alice)); next.StatusCode != 200 {
					t.Errorf("next request on the connection: %d %s", next.StatusCode, body)
				}
			})
		}
		// Only the two accepted creates made rows.
		if n := e.countRows(); n != 2 {
			t.Errorf("%d task rows, want 2", n)
		}
	})
}

// TestOversizedBodyAnswered: a client that sends a body over the limit in
// full, as net/http does, reads its 413 every time rather than a reset.
func TestOversizedBodyAnswered(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		for _, size := range []int{65 << 10, 256 << 10, 1 << 20} {
			for _, token := range []string{e.token("alice"), ""} {
				for i := range 10 {
					body := bytes.Repeat([]byte(" "), size)
					req, _ := http.NewRequest("POST", e.baseURL+"/api/alice/tasks", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if token != "" {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatalf("%d bytes, try %d: %v", size, i, err)
					}
					res.Body.Close()
					if res.StatusCode != http.StatusRequestEntityTooLarge {
						t.Fatalf("%d bytes, try %d: status %d", size, i, res.StatusCode)
					}
				}
			}
		}
	})
}

// TestSlowBody: a client that sends part of its body and stops gets 408 at
// the read timeout instead of holding the connection.
func TestSlowBody(t *testing.T) {
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, func(c *config.Config) { c.HTTP.ReadTimeout = 300 * time.Millisecond })
			e.listen()
			rc := e.dialRaw(t)
			start := time.Now()
			res, body := rc.do(head("POST", "/api/alice/tasks", e.token("alice"), "Content-Type: application/json", "Content-Length: 100") + `{"title":`)
			if res.StatusCode != http.StatusRequestTimeout || !res.Close {
				t.Errorf("status %d (close %v): %s", res.StatusCode, res.Close, body)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("answered after %v, want about 300 ms", took)
			}
			if n := e.countRows(); n != 0 {
				t.Errorf("%d rows from a body that never arrived", n)
			}
		})
	}
}
