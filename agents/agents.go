// Package agents serves the task API to AI agents as Model Context Protocol
// tools (add_task, list_tasks, …) on the official Go SDK's Streamable HTTP
// transport.
//
// A tool holds no rule of its own. It turns its arguments into the REST
// request that does the same thing — the body the REST API takes, the query
// its list takes — and hands that to a Doer, which server wires to the very
// handlers that serve /api (the same token check, decoding, validation,
// Store and problems). So an agent's task obeys every rule a browser's does,
// and a rule added to the REST handlers is the agents' rule too. The answer
// comes back as the tool's result: the JSON the REST API sent as structured
// content, or, for a problem, an isError result with its detail.
package agents

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Request is the REST request a tool call stands for. Path is below
// /api/{user_id}, as in "/tasks/42"; the user is the caller's.
type Request struct {
	Method string
	// User is the {user_id} of the path: the token's id or "me".
	User   string
	Path   string
	Query  url.Values
	Header map[string]string
	Body   []byte
}

// Response is what the REST handlers answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Doer serves r for the caller of the MCP request whose context ctx is,
// with that request's token, as the REST API would.
type Doer func(ctx context.Context, r Request) (Response, error)

type callerKey struct{}

// callerInfo is who sent the /mcp request a tool call arrived in.
type callerInfo struct{ userID, requestID string }

// WithCaller returns ctx carrying the id of the token's user, for the tools
// to hold a user_id argument to, and the request id, for their log lines.
func WithCaller(ctx context.Context, userID, requestID string) context.Context {
	return context.WithValue(ctx, callerKey{}, callerInfo{userID, requestID})
}

func caller(ctx context.Context) callerInfo {
	c, _ := ctx.Value(callerKey{}).(callerInfo)
	return c
}

// Options configure the MCP server.
type Options struct {
	// Version is the server version the initialize answer names.
	Version string
	Log     *slog.Logger
	// Metrics counts tool calls; nil counts nothing.
	Metrics *Metrics
	// Clock times the calls for the metrics and the log.
	Clock func() time.Time
}

// NewServer builds the MCP server whose tools do their work through do.
func NewServer(do Doer, o Options) *mcp.Server {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "todo-api", Title: "todo-api tasks", Version: o.Version}, &mcp.ServerOptions{
		Instructions: "Manage the signed-in user's tasks and lists. Every tool acts as the user whose bearer token the request carries; " +
			"user_id may be left out (or sent as \"me\"). Ids are integers from earlier results.",
		Logger: quiet(o.Log),
	})
	for _, t := range tools {
		s.AddTool(t.mcpTool(), t.handler(do, o))
	}
	return s
}

// Handler is the Streamable HTTP endpoint of s. It is stateless and answers
// each POST with one JSON body: every tool call is a request and its
// response, so there is nothing to stream, no session for an instance to
// remember (any instance behind the load balancer answers any request),
// and nothing for a buffering proxy — or Fiber's net/http adaptor, which
// buffers the whole response — to hold back. GET and DELETE, which only a
// stateful session uses, are 405.
func Handler(s *mcp.Server, log *slog.Logger) http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		Stateless:    true,
		JSONResponse: true,
		Logger:       quiet(log),
	})
}

// quiet is log for the SDK's own lines without the info ones (a session
// opened and closed for every stateless request), which the access log's
// line per request and the tools' line per call already cover.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		return nil
	}
	return slog.New(warnings{log.Handler()})
}

type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }
