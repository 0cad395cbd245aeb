// Package jsonbody reads request bodies strictly: one JSON object of known
// members, sent as JSON, in valid UTF-8, each member once. It is the one
// place the API decodes JSON input; its errors are problems (400, 415) that
// say what is wrong without echoing Go type names.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"unicode/utf8"

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

// Ignored accepts and drops a member: the read-only fields of a resource
// that a client may echo back from a GET.
type Ignored struct{}

// UnmarshalJSON discards the value.
func (*Ignored) UnmarshalJSON([]byte) error { return nil }

// ErrEmpty is returned by Decode when the body is empty (or only white
// space), which the caller may accept (an optional body) or refuse.
var ErrEmpty = errors.New("no body")

// Decode reads body into dst, a pointer to a struct, and returns the names
// of the top-level members that dst has no field for. Those are left for the
// caller to report together with its own validation errors, so that one
// answer lists every broken rule. Syntax errors, wrong JSON types, repeated
// members and invalid text are a 400 problem, a content type that is not
// JSON a 415.
func Decode(contentType string, body []byte, dst any) (unknown []string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, ErrEmpty
	}
	if !IsJSON(contentType) {
		return nil, problem.UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; refuse it
	// so that what is stored is what the client meant.
	if !utf8.Valid(body) {
		return nil, problem.BadRequest("The body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, problem.BadRequest("The body must hold a single JSON object and nothing after it.")
	}
	names, err := checkMembers(body)
	if err != nil {
		return nil, err
	}
	known := fieldNames(dst)
	for _, n := range names {
		if !known[foldName(n)] {
			unknown = append(unknown, n)
		}
	}
	return unknown, nil
}

// fieldNames are the folded JSON names of dst's fields, matched the way
// encoding/json matches member names to them.
func fieldNames(dst any) map[string]bool {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		names[foldName(name)] = true
	}
	return names
}

// IsJSON reports whether contentType is JSON (application/json or a +json type).
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// decodeError turns encoding/json's errors into client-facing problems.
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
