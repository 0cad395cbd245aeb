package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/metrics"
)

// maxRequestIDLen bounds an incoming X-Request-ID so that a client cannot
// push large or hostile strings into the logs.
const maxRequestIDLen = 128

// RequestID takes X-Request-ID from the request when it is a short token of
// safe characters, else generates one, and echoes it on the response, where
// the error handler and the access log read it.
func RequestID(c *fiber.Ctx) error {
	// Set copies the value, so the id outlives Fiber's reuse of the request buffer.
	c.Set(fiber.HeaderXRequestID, RequestIDFrom(c.Get(fiber.HeaderXRequestID)))
	return c.Next()
}

// RequestIDFrom is the id of a request whose X-Request-ID header is header:
// the client's when it is valid, else a new one. RequestID uses it, and so
// do answers given before Fiber's middleware runs.
func RequestIDFrom(header string) string {
	if validRequestID(header) {
		return header
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AccessLog writes one line per request: method, route pattern (never the raw
// path, which holds ids), status, duration, user id and request id, and
// records the same numbers in m (which may be nil). It never logs headers or
// bodies, so tokens and task contents stay out of the log.
func AccessLog(log *slog.Logger, m *metrics.Registry) fiber.Handler {
	var routes routeNames
	return func(c *fiber.Ctx) error {
		start := time.Now()
		m.RequestStarted()
		err := c.Next()
		if err != nil {
			// Render the error now so the logged status is the one sent.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		RecordRequest(c.UserContext(), log, m, Served{
			Method: c.Method(), Route: routes.of(c), Status: c.Response().StatusCode(), Took: time.Since(start),
			UserID: UserID(c), RequestID: c.GetRespHeader(fiber.HeaderXRequestID), Reason: RefusalCode(c),
		})
		return nil
	}
}

// Served is what the access log and the request metrics record of one
// answered request.
type Served struct {
	Method    string // as the client sent it; an unknown one is recorded as OTHER
	Route     string // a route pattern or metrics.Unmatched, never a raw path
	Status    int
	Took      time.Duration
	UserID    string
	RequestID string
	// Reason is the reason code of a refused token (RefusalCode), else "".
	Reason string
}

// RecordRequest writes the access-log line of s and ends it in m (which may
// be nil; RequestStarted must have counted it in flight). AccessLog calls it
// for every request Fiber routes, and so does the answer to methods Fiber
// does not know (server/methods.go), so both log and count alike.
func RecordRequest(ctx context.Context, log *slog.Logger, m *metrics.Registry, s Served) {
	method := methodName(s.Method)
	m.RequestDone(method, s.Route, s.Status, s.Took)
	attrs := [...]slog.Attr{
		slog.String("method", method),
		slog.String("route", s.Route),
		slog.Int("status", s.Status),
		slog.Float64("duration_ms", float64(s.Took.Microseconds())/1000),
		slog.String("user_id", s.UserID),
		slog.String("request_id", s.RequestID),
		slog.String("reason", s.Reason),
	}
	n := len(attrs)
	if s.Reason == "" {
		n-- // only refused tokens have a reason
	}
	log.LogAttrs(ctx, slog.LevelInfo, "request", attrs[:n]...)
}
