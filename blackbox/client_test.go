package blackbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// token is an HS256 token for user signed with testSecret, valid for a day
// (longer than any soak).
func token(t testing.TB, user string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "iat": time.Now().Unix(), "exp": time.Now().Add(24 * time.Hour).Unix(),
	}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client talks to one base URL.
type client struct {
	base string
	http *http.Client
}

// newClient is a client for base that keeps up to conns connections.
func newClient(base string, conns int) *client {
	return &client{base: base, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
	}}
}

// reply is a response, or the transport error that replaced it.
type reply struct {
	status int
	header http.Header
	body   string
	err    error
}

// do sends one request to c.base+path and reads the whole answer. tok ""
// sends no Authorization; body nil or "" sends none, a string is sent as
// it is, anything else JSON-encoded; headers are name, value pairs.
func (c *client) do(method, path, tok string, body any, headers ...string) reply {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		if b != "" {
			r = strings.NewReader(b)
		}
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return reply{err: err}
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return reply{err: err}
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(raw), err: err}
}

// titleBody is a create body.
func titleBody(title string) string { return fmt.Sprintf(`{"title":%q}`, title) }
