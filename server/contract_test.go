package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gofiber/fiber/v2"

	"todo-api/docs"
)

// The contract: env.call checks every request the integration tests send
// and every response they receive against docs/openapi.yaml, the document
// the binary serves, so the document cannot drift from the code. No test
// has to ask for it. The rules:
//
//   - Every response is checked: its status must be one the operation
//     lists, and its headers and body must match what the document says for
//     that status. Objects in response bodies may hold only the members the
//     document lists (closeObjects). A request that matches no operation
//     must get one of the answers any path can give: 404 (no route), 405
//     with Allow (no such method on the path); 413 and 431 may answer any
//     request, since the HTTP server sends them before routing.
//   - A request is checked only when the server accepted it (2xx or 304):
//     the server must not take requests the document forbids. Refused
//     requests are not checked, because the tests send malformed ones on
//     purpose; the refusal itself is checked, as a response.
//   - CORS preflights are not operations of the API; TestCORS covers them.

// anyPath names the responses (components/responses) that need no
// operation: answers to requests that match none, or that the HTTP server
// gives before routing.
var anyPath = map[int]string{
	http.StatusNotFound:                    "NotFound",
	http.StatusMethodNotAllowed:            "MethodNotAllowed",
	http.StatusRequestEntityTooLarge:       "ContentTooLarge",
	http.StatusRequestHeaderFieldsTooLarge: "RequestHeaderFieldsTooLarge",
	// Anonymous requests are rate-limited by IP before routing.
	http.StatusTooManyRequests: "TooManyRequests",
}

// knownMethod says whether the server routes method; any other method gets
// a 400 from any path before routing (the document's description says so).
func knownMethod(method string) bool { return slices.Contains(fiber.DefaultMethods, method) }

// lenient lists query strings outside the document that the server accepts
// on purpose, so that a hand-typed URL still works: spaces around a comma
// list's items, and a "+" in a date that arrived unencoded (as a space).
// The document keeps describing the canonical form; the list tests check
// the leniency itself.
var lenient = map[string]bool{
	"priority=+high+%2C+high":              true,
	"due_before=2026-11-28T10:00:00+01:00": true,
}

// preRouting says whether the HTTP server sends status before any route
// is chosen (body or headers over the limit).
//
// A 404 counts too: the server decodes the path before routing, so an
// encoded slash (/api/bob%2F..%2Falice/tasks) can match no route although
// the raw path fits an operation of the document.
func preRouting(status int) bool {
	return status == http.StatusRequestEntityTooLarge || status == http.StatusRequestHeaderFieldsTooLarge ||
		status == http.StatusNotFound
}

// contract is the loaded document and a router that finds its operations.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

// apiContract loads docs/openapi.yaml once per test binary.
func apiContract() (*contract, error) {
	contractOnce.Do(func() { theContract, contractErr = loadContract(docs.OpenAPIYAML()) })
	return theContract, contractErr
}

func loadContract(spec []byte) (*contract, error) {
	// kin-openapi decodes JSON and text/plain bodies; the docs routes send
	// these too. Each is checked as a string.
	for _, mt := range []string{"text/html", "text/css", "text/javascript", "application/openmetrics-text"} {
		openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	closeObjects(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing docs/openapi.yaml: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
}

// closeObjects makes the tests strict about response members: every
// component schema of an object that does not say whether other members are
// allowed is closed, so a field the server sends but the document does not
// list fails. The published document stays open — a client must ignore
// members it does not know, so adding one later is not a breaking change.
func closeObjects(doc *openapi3.T) {
	no := false
	for _, ref := range doc.Components.Schemas {
		s := ref.Value
		if s == nil || len(s.Properties) == 0 {
			continue
		}
		if s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties.Has = &no
		}
	}
}

// exchange is one request and its response, as env.call saw them.
type exchange struct {
	method string
	target string // path and query, as sent
	header http.Header
	body   []byte

	status     int
	respHeader http.Header
	respBody   []byte
}

// check returns an error that says precisely how x breaks the contract, or nil.
func (c *contract) check(x exchange) error {
	if x.method == http.MethodOptions && x.header.Get("Access-Control-Request-Method") != "" {
		return nil // a CORS preflight
	}
	req := httptest.NewRequest(x.method, x.target, bytes.NewReader(x.body))
	req.Header = x.header.Clone()
	ctx := context.Background()

	route, params, err := c.router.FindRoute(req)
	routed := err == nil
	var where string
	switch {
	case !routed && !knownMethod(x.method) && x.status == http.StatusBadRequest:
		// A method the server does not know at all (server/methods.go).
		route = c.anyPathRoute("BadRequest", x)
		where = "components/responses/BadRequest"
	case !routed:
		name, ok := anyPath[x.status]
		if !ok {
			return c.fail(x, fmt.Sprintf("no operation (%v)", err),
				[]string{fmt.Sprintf("status %d: a request that matches no operation may only get %v", x.status, sortedKeys(anyPath))})
		}
		route = c.anyPathRoute(name, x)
		where = "components/responses/" + name
	case preRouting(x.status) && route.Operation.Responses.Status(x.status) == nil:
		// Sent by the HTTP server before routing, whatever the path.
		name := anyPath[x.status]
		where = fmt.Sprintf("operation %s (%s %s), components/responses/%s", route.Operation.OperationID, route.Method, route.Path, name)
		route = c.anyPathRoute(name, x)
	default:
		where = fmt.Sprintf("operation %s (%s %s)", route.Operation.OperationID, route.Method, route.Path)
	}

	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError:          true,
			SkipSettingDefaults: true,
			AuthenticationFunc:  bearerPresent,
		},
	}
	var problems []string
	accepted := x.status/100 == 2 || x.status == http.StatusNotModified
	if accepted && routed && !lenient[req.URL.RawQuery] {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			for _, p := range describe(err) {
				problems = append(problems, "request accepted although the document forbids it: "+p)
			}
		}
	}

	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.status,
		Header:                 x.respHeader,
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	body, err := decoded(x.respHeader, x.respBody)
	if err != nil {
		problems = append(problems, err.Error())
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		problems = append(problems, describe(err)...)
		if route.Operation.Responses.Status(x.status) == nil && route.Operation.Responses.Default() == nil {
			problems = append(problems, fmt.Sprintf("the operation lists only %s", strings.Join(slices.Sorted(maps.Keys(route.Operation.Responses.Map())), ", ")))
		}
	}
	// kin-openapi does not look at a body the document does not describe.
	if res := route.Operation.Responses.Status(x.status); res != nil && res.Value != nil &&
		len(res.Value.Content) == 0 && len(x.respBody) > 0 {
		problems = append(problems, fmt.Sprintf("status %d has no body in the document, but one was sent", x.status))
	}
	if len(problems) > 0 {
		return c.fail(x, where, problems)
	}
	return nil
}

// decoded undoes a gzip Content-Encoding, so that the content is checked.
func decoded(h http.Header, body []byte) ([]byte, error) {
	if h.Get("Content-Encoding") != "gzip" {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body, fmt.Errorf("Content-Encoding: gzip, but the body is not: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return body, fmt.Errorf("Content-Encoding: gzip, but the body is not: %v", err)
	}
	return plain, nil
}

// anyPathRoute is a stand-in operation whose only response is the named
// component, for answers that need no operation.
func (c *contract) anyPathRoute(name string, x exchange) *routers.Route {
	op := openapi3.NewOperation()
	op.OperationID = "(any path)"
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(x.status, c.doc.Components.Responses[name]))
	return &routers.Route{Spec: c.doc, Path: x.target, Method: x.method, Operation: op}
}

func (c *contract) fail(x exchange, where string, problems []string) error {
	body := string(x.respBody)
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Errorf("contract: %s %s → %d does not match docs/openapi.yaml, %s:\n\t- %s\n\tresponse body: %s",
		x.method, x.target, x.status, where, strings.Join(problems, "\n\t- "), body)
}

// bearerPresent stands in for the bearer scheme when a request is checked:
// the document requires a bearer token; whether it is valid is the server's
// business (and the auth tests').
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errors.New("no Authorization: Bearer header")
	}
	return nil
}

// describe flattens kin-openapi's errors into one line per problem: where
// (header, parameter, body member) and what, without its schema dumps.
func describe(err error) []string {
	switch e := err.(type) {
	case openapi3.MultiError:
		var out []string
		for _, each := range e {
			out = append(out, describe(each)...)
		}
		return out
	case *openapi3filter.SecurityRequirementsError:
		return []string{"security: " + e.Error()}
	case *openapi3filter.RequestError:
		prefix := "request"
		if e.Parameter != nil {
			prefix = fmt.Sprintf("parameter %q in %s", e.Parameter.Name, e.Parameter.In)
		} else if e.RequestBody != nil {
			prefix = "request body"
		}
		return withPrefix(prefix, e.Reason, e.Err)
	case *openapi3filter.ResponseError:
		return withPrefix("response", e.Reason, e.Err)
	}
	return []string{schemaProblem(err)}
}

func withPrefix(prefix, reason string, cause error) []string {
	if reason != "" {
		prefix += ": " + reason
	}
	if cause == nil {
		return []string{prefix}
	}
	var out []string
	for _, d := range describe(cause) {
		out = append(out, prefix+": "+d)
	}
	return out
}

// schemaProblem renders a schema error as "at /pointer: reason".
func schemaProblem(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		if reason := jsonSchemaReason(se.Reason); reason != se.Reason {
			return reason
		}
		return fmt.Sprintf("at /%s: %s", strings.Join(se.JSONPointer(), "/"), se.Reason)
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	return jsonSchemaReason(msg)
}

// jsonSchemaReason shortens a message of the JSON Schema 2020-12 validator
// (a header line naming its scratch URL, then "- at '/pointer': reason"
// lines) to its reasons; other messages are returned as they are.
func jsonSchemaReason(msg string) string {
	if !strings.HasPrefix(msg, "jsonschema validation failed") {
		return msg
	}
	lines := strings.Split(msg, "\n")[1:]
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimSpace(l), "- ")
	}
	return strings.Join(lines, "; ")
}

func sortedKeys(m map[int]string) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkContract is env.call's hook: it reports a broken contract as a
// failure of the test that made the call.
func (e *env) checkContract(req *http.Request, target string, body []byte, res *http.Response, respBody []byte) {
	e.t.Helper()
	c, err := apiContract()
	if err != nil {
		e.t.Errorf("%v", err)
		return
	}
	err = c.check(exchange{
		method: req.Method, target: target, header: req.Header, body: body,
		status: res.StatusCode, respHeader: res.Header, respBody: respBody,
	})
	if err != nil {
		e.t.Errorf("%v", err)
	}
}
