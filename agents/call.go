package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"todo-api/models"
)

// toolError is a failed call answered as a tool result (isError), which the
// model reads and can act on, rather than as a protocol error.
type toolError string

// errNoTask is the REST API's answer for an id that names none of the
// caller's tasks, for an id argument that cannot name one at all.
const errNoTask toolError = "No task with this id."

// handler runs t: the arguments become t's REST request, do serves it, and
// the answer becomes the tool's result.
func (t tool) handler(do Doer, o Options) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := o.Clock()
		var args json.RawMessage
		if req.Params != nil {
			args = req.Params.Arguments
		}
		res, status := t.call(ctx, do, args)
		o.Metrics.observe(t.name, status, o.Clock().Sub(start))
		if o.Log != nil {
			o.Log.LogAttrs(ctx, slog.LevelInfo, "mcp tool", slog.String("tool", t.name), slog.Int("status", status),
				slog.Bool("is_error", res.IsError), slog.String("user_id", caller(ctx).userID),
				slog.String("request_id", caller(ctx).requestID),
				slog.Float64("duration_ms", float64(o.Clock().Sub(start).Microseconds())/1000))
		}
		return res, nil
	}
}

// call returns the tool's result and the REST status behind it (0 when the
// arguments were refused before any request).
func (t tool) call(ctx context.Context, do Doer, raw json.RawMessage) (*mcp.CallToolResult, int) {
	r, id, version, terr := t.request(ctx, raw)
	if terr != "" {
		return failed(string(terr), nil), 0
	}
	resp, err := do(ctx, r)
	if err != nil {
		// The Doer failed before any handler answered; what it says is
		// ours, not the client's, to read.
		return failed("The request could not be served; retry shortly.", nil), http.StatusInternalServerError
	}
	if resp.Status == http.StatusPreconditionFailed && version > 0 {
		return stale(ctx, do, r.User, id, version), resp.Status
	}
	return t.result(resp, id), resp.Status
}

// stale answers a write refused because the task is no longer at version:
// the REST 412 names no version, so the task is read again for the one an
// agent needs to retry with, and sent along, which saves it the re-read.
func stale(ctx context.Context, do Doer, user string, id, version int64) *mcp.CallToolResult {
	resp, err := do(ctx, Request{Method: http.MethodGet, User: user, Path: "/tasks/" + strconv.FormatInt(id, 10), Header: map[string]string{}})
	if err != nil {
		return failed("The request could not be served; retry shortly.", nil)
	}
	var current struct {
		Version *int64 `json:"version"`
	}
	if resp.Status != http.StatusOK {
		// Deleted in the meantime: answered as any unknown id.
		return tool{}.result(resp, id)
	}
	if json.Unmarshal(resp.Body, &current) != nil || current.Version == nil {
		return failed("The answer could not be read; retry shortly.", nil)
	}
	text := fmt.Sprintf("Task %d is now at version %d, not %d: it was changed since you read it, so this call changed nothing. "+
		"Read it (get_task, or the task below), decide whether your change still applies, and retry with version %d.",
		id, *current.Version, version, *current.Version)
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}, &mcp.TextContent{Text: string(resp.Body)}}, IsError: true}
}

// request builds t's REST request from the arguments: user_id selects the
// path's user, id the task, idempotency_key and version the headers;
// everything else is the body or the query, as sent, for the REST handlers
// to judge. It returns the task id and the version, 0 where there is none.
func (t tool) request(ctx context.Context, raw json.RawMessage) (Request, int64, int64, toolError) {
	args := map[string]json.RawMessage{}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		if err := json.Unmarshal(trimmed, &args); err != nil {
			return Request{}, 0, 0, "The arguments must be a JSON object."
		}
	}
	r := Request{Method: t.method, User: "me", Path: t.path, Header: map[string]string{}}
	if v, ok := args["user_id"]; ok {
		delete(args, "user_id")
		var user string
		if json.Unmarshal(v, &user) != nil {
			return Request{}, 0, 0, "user_id must be a string: the token's own user id, or me."
		}
		if user != "" && user != "me" && user != caller(ctx).userID {
			return Request{}, 0, 0, "user_id is not the token's user: an agent acts only as the user whose token it sends. Leave user_id out, or send me."
		}
		if user != "" {
			r.User = user
		}
	}
	var id int64
	if t.takesID() {
		v, ok := args["id"]
		delete(args, "id")
		if !ok {
			return Request{}, 0, 0, "id is required: the id of one of your tasks."
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || n < 1 {
			return Request{}, 0, 0, errNoTask
		}
		id = n
		r.Path = strings.Replace(t.path, "{id}", strconv.FormatInt(n, 10), 1)
	}
	if t.idempotencyKey {
		if v, ok := args["idempotency_key"]; ok {
			delete(args, "idempotency_key")
			// null is no string either: decoded as "", it would be a
			// create without a key, the retry the key was sent to prevent.
			var key string
			if bytes.Equal(bytes.TrimSpace(v), []byte("null")) || json.Unmarshal(v, &key) != nil {
				return Request{}, 0, 0, "idempotency_key must be a string."
			}
			r.Header["Idempotency-Key"] = key
		}
	}
	var version int64
	if t.versioned {
		if v, ok := args["version"]; ok {
			delete(args, "version")
			// null is refused too: taken as "no version", it would be the
			// unconditional write the version was sent to prevent.
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil || n < 1 {
				return Request{}, 0, 0, "version must be a positive integer: the task's version as you last read it."
			}
			version = n
			r.Header["If-Match"] = models.TaskETag(id, n)
		}
	}
	for k, v := range t.defaults {
		if _, ok := args[k]; !ok {
			args[k] = v
		}
	}
	if t.query {
		q, terr := queryOf(args)
		if terr != "" {
			return Request{}, 0, 0, terr
		}
		r.Query = q
		return r, id, 0, ""
	}
	if t.method != http.MethodGet && t.method != http.MethodDelete {
		r.Body, _ = json.Marshal(args) // raw messages the SDK has parsed: always encodes
		r.Header["Content-Type"] = "application/json"
	} else if len(args) > 0 {
		names := make([]string, 0, len(args))
		for k := range args {
			names = append(names, k)
		}
		return Request{}, 0, 0, toolError(fmt.Sprintf("%s takes no argument %s.", t.name, strings.Join(names, ", ")))
	}
	return r, id, version, ""
}

// queryOf turns arguments into query parameters as a REST client would
// write them: strings as they are, numbers and booleans as their JSON text,
// an array as the parameter repeated. The list's parser then refuses what
// the REST API refuses, an unknown parameter included.
func queryOf(args map[string]json.RawMessage) (url.Values, toolError) {
	q := url.Values{}
	for name, v := range args {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			items = []json.RawMessage{v}
		}
		for _, item := range items {
			var s string
			switch {
			case json.Unmarshal(item, &s) == nil:
			case bytes.Equal(item, []byte("null")):
				continue
			case len(item) > 0 && item[0] != '{' && item[0] != '[':
				s = string(item)
			default:
				return nil, toolError(name + " must be a string, a number, a boolean or a list of them.")
			}
			q.Add(name, s)
		}
	}
	return q, ""
}

// result turns the REST answer into the tool's result: a JSON object as
// structured content (an array under t.wrap), a problem as an isError
// result with its detail.
func (t tool) result(resp Response, id int64) *mcp.CallToolResult {
	if resp.Status >= 400 {
		var p struct {
			Detail string `json:"detail"`
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(resp.Body, &p) != nil || p.Detail == "" {
			return failed(fmt.Sprintf("The request failed (%d %s).", resp.Status, http.StatusText(resp.Status)), nil)
		}
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field+": "+e.Message)
		}
		if len(fields) == 1 && strings.Contains(p.Detail, fields[0]) {
			fields = nil // the detail of a single error says it already
		}
		return failed(p.Detail, fields)
	}
	var structured map[string]any
	switch {
	case resp.Status == http.StatusNoContent:
		structured = map[string]any{"deleted": true, "id": id}
	case t.wrap != "":
		var items []any
		if err := json.Unmarshal(resp.Body, &items); err != nil {
			return failed("The answer could not be read; retry shortly.", nil)
		}
		structured = map[string]any{t.wrap: items}
		if total := resp.Header.Get("X-Total-Count"); total != "" {
			n, _ := strconv.ParseInt(total, 10, 64)
			structured["total"] = n
		}
	default:
		if err := json.Unmarshal(resp.Body, &structured); err != nil {
			return failed("The answer could not be read; retry shortly.", nil)
		}
	}
	text := t.summarise(id, structured)
	// The JSON as text too: clients that show only content (and the models
	// behind them) still get every field.
	body, _ := json.Marshal(structured)
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: text}, &mcp.TextContent{Text: string(body)}},
		StructuredContent: structured,
	}
}

func (t tool) summarise(id int64, v map[string]any) string {
	if t.summary != nil {
		return t.summary(id, v)
	}
	items, _ := v[t.wrap].([]any)
	if total, ok := v["total"]; ok {
		return fmt.Sprintf("%d of %v %s.", len(items), total, t.wrap)
	}
	return fmt.Sprintf("%d %s.", len(items), t.wrap)
}

// failed is an isError result: detail, then one line per invalid field.
func failed(detail string, fields []string) *mcp.CallToolResult {
	content := []mcp.Content{&mcp.TextContent{Text: detail}}
	if len(fields) > 0 {
		content = append(content, &mcp.TextContent{Text: strings.Join(fields, "\n")})
	}
	return &mcp.CallToolResult{Content: content, IsError: true}
}
