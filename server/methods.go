package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"todo-api/metrics"
	"todo-api/middleware"
	"todo-api/problem"
)

// answerUnknownMethods makes the app answer a request method it does not
// know at all (PROPFIND, say) like any other error. Fiber answers those
// itself, before any middleware, with a plain-text 400; this wraps its
// fasthttp handler and answers the same 400 as problem+json, with a request
// id, and the access-log line and request metrics of any other request
// (middleware.RecordRequest). Not RFC 9110's 501: a 5xx says the server
// failed, and would count a scanner's PROPFIND or PURGE in the
// server-error rate that operators alert on; the attack suite holds that
// hostile input never gets a 5xx.
// Methods Fiber knows but a route lacks still get the router's 405 + Allow.
func answerUnknownMethods(app *fiber.App, log *slog.Logger, m *metrics.Registry) {
	known := map[string]bool{}
	for _, method := range app.Config().RequestMethods {
		known[method] = true
	}
	body, _ := json.Marshal(problem.BadRequest(
		"Unknown request method; this API uses GET, POST, PUT, PATCH, DELETE and OPTIONS."))
	server := app.Server()
	next := server.Handler
	server.Handler = func(ctx *fasthttp.RequestCtx) {
		if known[string(ctx.Method())] {
			next(ctx)
			return
		}
		start := time.Now()
		m.RequestStarted()
		id := middleware.RequestIDFrom(string(ctx.Request.Header.Peek(fiber.HeaderXRequestID)))
		ctx.Response.Header.Set(fiber.HeaderXRequestID, id)
		ctx.SetStatusCode(http.StatusBadRequest)
		ctx.SetContentType(problem.ContentType)
		ctx.SetBody(body)
		middleware.RecordRequest(context.Background(), log, m, middleware.Served{
			Method: string(ctx.Method()), Route: metrics.Unmatched, Status: http.StatusBadRequest,
			Took: time.Since(start), RequestID: id,
		})
	}
}
