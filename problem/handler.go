package problem

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Classifier recognises errors from one dependency (the database driver, say)
// and says which problem they are, or returns nil when it does not know them.
type Classifier func(error) *Problem

// Handler returns the application's single Fiber error handler: every error a
// handler, middleware or the HTTP server itself produces becomes a
// problem+json response here. Unknown errors become a generic 500 whose cause
// is logged with the request id and never sent to the client.
func Handler(log *slog.Logger, classifiers ...Classifier) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := From(err, classifiers...)
		if p.Status >= http.StatusInternalServerError {
			log.LogAttrs(c.UserContext(), slog.LevelError, "request failed",
				slog.String("request_id", c.GetRespHeader(fiber.HeaderXRequestID)),
				slog.String("method", c.Method()),
				slog.String("route", c.Route().Path),
				slog.Int("status", p.Status),
				slog.String("error", err.Error()),
			)
		}
		return Write(c, p)
	}
}

// From maps any error to the problem a client should see.
func From(err error, classifiers ...Classifier) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	for _, classify := range classifiers {
		if p := classify(err); p != nil {
			return p
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fromFiber(fe)
	}
	return Internal()
}

// fromFiber replaces Fiber's own messages, which echo the request path and
// method back, with fixed texts.
func fromFiber(fe *fiber.Error) *Problem {
	switch fe.Code {
	case fiber.StatusNotFound:
		return NotFound("No route matches this path.")
	case fiber.StatusMethodNotAllowed:
		return New(fe.Code, "This route does not support the method; the Allow header lists those it does.")
	case fiber.StatusRequestEntityTooLarge:
		return New(fe.Code, "The request body is larger than the 64 KiB limit.")
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return New(fe.Code, "The request headers are larger than the server accepts.")
	case fiber.StatusRequestTimeout:
		return New(fe.Code, "The request was not received in time.")
	case fiber.StatusBadRequest:
		return BadRequest("The request could not be read.")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return New(fe.Code, http.StatusText(fe.Code)+".")
	}
	return Internal()
}

// Write sends p as the response.
func Write(c *fiber.Ctx, p *Problem) error {
	for k, v := range p.header {
		c.Set(k, v)
	}
	c.Status(p.Status)
	body, err := c.App().Config().JSONEncoder(p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ContentType)
	return c.Send(body)
}
