package controllers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"todo-api/problem"
)

// Field is a JSON member that remembers whether it was sent and whether it
// was null, so that PATCH can tell "leave alone" from "clear" from "set to
// false". Its zero value is "not sent".
type Field[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records presence; encoding/json calls it for null too.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Null = true
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// ignored accepts and drops a member: the read-only fields of a task that a
// client may echo back from a GET.
type ignored struct{}

// UnmarshalJSON discards the value.
func (*ignored) UnmarshalJSON([]byte) error { return nil }

// errNoBody is returned by decodeJSON when the body is empty and optional.
var errNoBody = errors.New("no body")

// decodeJSON reads the request body into dst: a JSON object of known
// members, sent as JSON, in valid UTF-8, each member once (see
// checkMembers). Unknown members are a 422 naming them; syntax errors,
// wrong JSON types and repeated members are 400. An empty body is
// errNoBody, which the caller may accept (toggle) or refuse.
func decodeJSON(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return errNoBody
	}
	if !isJSON(c.Get(fiber.HeaderContentType)) {
		return problem.UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; refuse it
	// so that what is stored is what the client meant.
	if !utf8.Valid(body) {
		return problem.BadRequest("The body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.BadRequest("The body must hold a single JSON object and nothing after it.")
	}
	return checkMembers(body)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == fiber.MIMEApplicationJSON || strings.HasSuffix(mt, "+json"))
}

// decodeError turns encoding/json's errors into client-facing problems
// without echoing Go type names.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return problem.BadRequest("The body is not valid JSON.")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return problem.BadRequest("The body must be a JSON object.")
		}
		return problem.BadRequest(fmt.Sprintf("Field %q must be %s, not %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem.Invalid(truncate(name, 64), "is not a field of a task")
	}
	return problem.BadRequest("The body could not be read as JSON.")
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a number"
}
