package server

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/valyala/fasthttp"

	"todo-api/agents"
	"todo-api/config"
	"todo-api/controllers"
	"todo-api/middleware"
	"todo-api/problem"
)

// agentsMount is the MCP endpoint: the Streamable HTTP handler of the
// agents' tools, and the in-process copy of the /api routes that the tools
// send their requests to.
type agentsMount struct {
	mcp http.Handler
	// api serves the tools' requests: the same handlers, behind the same
	// token check and path-user check, as /api.
	api fasthttp.RequestHandler
}

// mountAgents serves /mcp behind the token check and per-user limit of
// /api, and the RFC 9728 document that names where its tokens come from.
func mountAgents(app *fiber.App, d Deps, perUser fiber.Handler, inFlight *middleware.InFlight, tasks *controllers.Tasks, lists *controllers.Lists) {
	inner := fiber.New(fiber.Config{
		ErrorHandler:          app.Config().ErrorHandler,
		CaseSensitive:         true,
		UnescapePath:          false, // as app: RequirePathUser decodes {user_id}
		DisableStartupMessage: true,
	})
	// The tool call's context: its deadline and cancellation reach the
	// database as a REST request's do.
	inner.Use(func(c *fiber.Ctx) error {
		if ctx, ok := c.Context().UserValue(callContextKey{}).(context.Context); ok {
			c.SetUserContext(ctx)
		}
		return c.Next()
	})
	inner.Use(middleware.RequestID) // the /mcp request's id, sent along: 5xx causes are logged with it
	// A tool call takes an in-flight slot as the REST request would.
	paths := inner.Group("/api/:user_id")
	apiRoutes(guard(paths, d.Verifier.Authenticate(), inFlight.Cheap, middleware.RequirePathUser),
		guard(paths, d.Verifier.Authenticate(), inFlight.Costly, middleware.RequirePathUser), tasks, lists)

	var m *agents.Metrics
	if d.Metrics != nil {
		m = agents.NewMetrics()
		for _, c := range m.Collectors() {
			if err := d.Metrics.Register(c); err != nil {
				d.Log.Error("mcp metrics not registered", "error", err)
			}
		}
	}
	a := &agentsMount{api: inner.Handler()}
	a.mcp = agents.Handler(agents.NewServer(a.do, agents.Options{Version: buildVersion(), Log: d.Log, Metrics: m}), d.Log)

	mcp := []fiber.Handler{challenge(d.Verifier.Authenticate()), perUser, readBody, a.serve}
	app.Post(agents.Path, mcp...)
	app.Get(agents.Path, mcp...)
	app.Delete(agents.Path, mcp...)
	meta := resourceMetadata(d.Config)
	app.Get(agents.MetadataPath, meta)
	app.Get(agents.MetadataPath+agents.Path, meta) // RFC 9728's path-suffixed form
}

// challenge gives the token check's 401 the WWW-Authenticate an MCP client
// follows to the resource metadata (RFC 9728 section 5.1).
func challenge(auth fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := auth(c)
		var p *problem.Problem
		if errors.As(err, &p) && p.Status == fiber.StatusUnauthorized {
			p.WithHeader(fiber.HeaderWWWAuthenticate, agents.Challenge(c.BaseURL(), middleware.RefusalCode(c) != middleware.CodeMissing))
		}
		return err
	}
}

func resourceMetadata(cfg config.Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// The document names the host the client reached, so it is not
		// shared between hosts by a cache.
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(agents.ResourceMetadata(c.BaseURL(), cfg.Auth.BetterAuthURL))
	}
}

// buildVersion is the module version the binary was built as, for the MCP
// initialize answer.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

type callContextKey struct{}

type callerKey struct{}

// caller is what a tool's request takes from the /mcp request it serves.
type caller struct {
	authorization string
	requestID     string
	remote        net.Addr
}

// serve hands the /mcp request to the MCP handler through net/http, with
// the token's user and the request's token in its context, and copies the
// buffered answer back. The handler answers one JSON body per POST
// (agents.Handler), so buffering holds nothing back.
func (a *agentsMount) serve(c *fiber.Ctx) error {
	if isBatch(c.Body()) {
		return problem.New(fiber.StatusBadRequest, "JSON-RPC batches are not accepted: send one message per request.")
	}
	r, err := adaptor.ConvertRequest(c, true)
	if err != nil {
		return err
	}
	requestID := strings.Clone(c.GetRespHeader(fiber.HeaderXRequestID))
	ctx := agents.WithCaller(c.UserContext(), middleware.UserID(c), requestID)
	ctx = context.WithValue(ctx, callerKey{}, caller{
		authorization: strings.Clone(c.Get(fiber.HeaderAuthorization)),
		requestID:     requestID,
		remote:        c.Context().RemoteAddr(),
	})
	w := &bufferedResponse{header: http.Header{}}
	a.mcp.ServeHTTP(w, r.WithContext(ctx))
	if w.status >= 400 && !strings.HasPrefix(w.header.Get("Content-Type"), "application/json") {
		// The transport's own refusals (a wrong method, Content-Type or
		// Accept) are one line of text; they get the API's problem shape.
		p := problem.New(w.status, strings.TrimSpace(w.body.String()))
		if allow := w.header.Get("Allow"); allow != "" {
			p.WithHeader(fiber.HeaderAllow, allow)
		}
		return p
	}
	for k, vs := range w.header {
		for _, v := range vs {
			c.Response().Header.Add(k, v)
		}
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return c.Status(w.status).Send(w.body.Bytes())
}

// isBatch reports whether body is a JSON-RPC batch (an array). The SDK
// still runs batches for clients that name a protocol revision before
// 2025-06-18, or none: one request, counted once by the per-user rate
// limit, would then carry as many tool calls as fit in the body (some 600
// creates in 64 KiB). No revision this server speaks needs them.
func isBatch(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '['
}

// do serves one tool's request with the /api handlers, as the caller.
func (a *agentsMount) do(ctx context.Context, r agents.Request) (agents.Response, error) {
	from, ok := ctx.Value(callerKey{}).(caller)
	if !ok {
		return agents.Response{}, errors.New("a tool call outside an /mcp request")
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	uri := "/api/" + url.PathEscape(r.User) + r.Path
	if len(r.Query) > 0 {
		uri += "?" + r.Query.Encode()
	}
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(uri)
	req.Header.Set(fiber.HeaderAuthorization, from.authorization)
	req.Header.Set(fiber.HeaderXRequestID, from.requestID)
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if r.Body != nil {
		req.SetBody(r.Body)
	}
	var fctx fasthttp.RequestCtx
	fctx.Init(req, from.remote, nil)
	fctx.SetUserValue(callContextKey{}, ctx)
	a.api(&fctx)
	resp := agents.Response{Status: fctx.Response.StatusCode(), Header: http.Header{}, Body: bytes.Clone(fctx.Response.Body())}
	fctx.Response.Header.VisitAll(func(k, v []byte) {
		resp.Header.Add(string(k), string(v))
	})
	return resp, nil
}

// bufferedResponse is the http.ResponseWriter the MCP handler writes to.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
