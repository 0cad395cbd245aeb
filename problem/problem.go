// Package problem defines the API's error type and turns every error a handler
// returns into an RFC 9457 problem+json response in one place.
package problem

import (
	"fmt"
	"net/http"
)

// ContentType is the media type of every error body (RFC 9457).
const ContentType = "application/problem+json"

// FieldError names one invalid input and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an error that knows its HTTP status and its client-facing text.
// Handlers return it (or any error); Handler renders it.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`

	// header holds response headers the status implies (Allow, WWW-Authenticate,
	// Retry-After); unexported so it never reaches the body.
	header map[string]string
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// Header returns the response headers that belong with this problem.
func (p *Problem) Header() map[string]string { return p.header }

// WithHeader returns p with a response header added.
func (p *Problem) WithHeader(key, value string) *Problem {
	if p.header == nil {
		p.header = map[string]string{}
	}
	p.header[key] = value
	return p
}

// New builds a problem for status with a readable detail. The type URI is a
// stable relative reference per status, documented in the OpenAPI document.
func New(status int, detail string) *Problem {
	return &Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	}
}

// BadRequest is a body that is not valid JSON or has a field of the wrong JSON type.
func BadRequest(detail string) *Problem { return New(http.StatusBadRequest, detail) }

// Unauthorized is a missing or invalid bearer token; the WWW-Authenticate
// header follows RFC 6750 so clients know to fetch a fresh token.
func Unauthorized(detail string) *Problem {
	return New(http.StatusUnauthorized, detail).
		WithHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
}

// Forbidden is a valid token used on another user's path.
func Forbidden(detail string) *Problem { return New(http.StatusForbidden, detail) }

// NotFound is an unknown route, or a task that does not exist or is not the caller's.
func NotFound(detail string) *Problem { return New(http.StatusNotFound, detail) }

// PreconditionFailed is a write whose If-Match no longer matches the task.
func PreconditionFailed(detail string) *Problem { return New(http.StatusPreconditionFailed, detail) }

// UnsupportedMediaType is a body sent without a JSON content type.
func UnsupportedMediaType(detail string) *Problem {
	return New(http.StatusUnsupportedMediaType, detail)
}

// MaxFieldErrors bounds the broken rules one answer lists; the rest are
// counted in a last entry, so that a request of thousands of made-up
// parameters gets a short answer.
const MaxFieldErrors = 10

// Validation is input that parsed but broke a rule; each broken rule is
// listed, up to MaxFieldErrors.
func Validation(errs ...FieldError) *Problem {
	total := len(errs)
	if total > MaxFieldErrors {
		more := len(errs) - MaxFieldErrors
		errs = append(errs[:MaxFieldErrors:MaxFieldErrors], FieldError{Field: "(more)", Message: fmt.Sprintf("%d more problems are not listed", more)})
	}
	p := New(http.StatusUnprocessableEntity, "The request did not pass validation.")
	if len(errs) == 1 {
		p.Detail = errs[0].Field + ": " + errs[0].Message
	} else if len(errs) > 1 {
		p.Detail = fmt.Sprintf("%d fields did not pass validation; see errors.", total)
	}
	p.Errors = errs
	return p
}

// Invalid is a single-field Validation problem.
func Invalid(field, message string) *Problem {
	return Validation(FieldError{Field: field, Message: message})
}

// Unavailable is a dependency (the database, the key set) that cannot answer now.
func Unavailable(detail string) *Problem { return New(http.StatusServiceUnavailable, detail) }

// Internal is the only body a client sees for an unexpected failure; the cause
// goes to the log, never to the client.
func Internal() *Problem {
	return New(http.StatusInternalServerError,
		"Something went wrong on our side. The request id identifies it in the server log.")
}

// Truncate shortens client-supplied text that an error message repeats, so
// that a huge parameter name cannot make a huge answer.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
