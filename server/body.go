package server

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"todo-api/problem"
)

// BodyLimit is the largest request body accepted (413 above it).
const BodyLimit = 64 * 1024

// drainLimit is how much of a body no handler reads (one refused, or sent
// without a valid token) the server reads and throws away, so that a client
// still sending it receives the answer rather than a connection reset.
// Above it the connection is closed unread. Draining costs no memory: the
// bytes go through a small buffer, within HTTP_READ_TIMEOUT.
const drainLimit = 1024 * 1024

// The server streams request bodies (Config.StreamRequestBody): Fiber's
// default reads a whole body before any handler runs, into a buffer of the
// size the client declares, so 800 connections that each sent only the
// head of a 1 MiB request held 800 MiB before a token was looked at. Here
// the head is judged first (limitBody), a body is read into memory only
// once the token has been checked (readBody), and whatever is left unread
// is drained (finishBody).

// limitBody refuses, from the request head alone, a body the API will not
// read: one declared larger than BodyLimit (413), or one with a content
// coding (415). Compressed bodies are refused rather than inflated: a
// 64 KiB gzip body can inflate to 64 MiB, no client of this API needs to
// compress JSON this small, and refusing reads nothing.
func limitBody(c *fiber.Ctx) error {
	h := &c.Request().Header
	// -1 is a chunked body; its length is known only once read.
	if n := h.ContentLength(); n > 0 || n == -1 {
		if compressed(h) {
			return problem.UnsupportedMediaType("Send the body uncompressed: this API does not accept a Content-Encoding on requests.").
				WithHeader(fiber.HeaderAcceptEncoding, "identity")
		}
		if n > BodyLimit {
			return fiber.ErrRequestEntityTooLarge
		}
	}
	return c.Next()
}

// compressed reports whether the request names a content coding other than
// identity, in any Content-Encoding header.
func compressed(h *fasthttp.RequestHeader) bool {
	for _, v := range h.PeekAll(fiber.HeaderContentEncoding) {
		for _, coding := range strings.Split(string(v), ",") {
			if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
}

// readBody reads the request body into memory, at most BodyLimit bytes, for
// the handlers after it (c.Body()). Every route that takes a body mounts it
// after the token check, so that a client without a valid token never makes
// the server hold one.
func readBody(c *fiber.Ctx) error {
	req := c.Request()
	stream := req.BodyStream()
	if stream == nil {
		return c.Next()
	}
	var body []byte
	var err error
	if n := req.Header.ContentLength(); n >= 0 { // at most BodyLimit: limitBody ran
		body = make([]byte, n)
		_, err = io.ReadFull(stream, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(stream, BodyLimit+1))
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		c.Context().SetConnectionClose()
		return fiber.ErrRequestTimeout
	case err != nil:
		c.Context().SetConnectionClose()
		return fiber.ErrBadRequest
	case len(body) > BodyLimit:
		return fiber.ErrRequestEntityTooLarge
	}
	req.SetBodyRaw(body)
	return c.Next()
}

// finishBody wraps the server's handler: a body no handler read is drained,
// up to drainLimit, so that the client gets its answer and the connection
// can carry the next request. A body over BodyLimit, one over drainLimit or
// one that cannot be read ends the connection after the answer.
func finishBody(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		stream := ctx.Request.BodyStream()
		if stream == nil {
			return
		}
		n := ctx.Request.Header.ContentLength()
		if n > BodyLimit {
			// fasthttp may have read past an oversized body into the next
			// request while looking ahead; start that one afresh.
			ctx.SetConnectionClose()
		}
		if n > drainLimit {
			return
		}
		read, err := io.Copy(io.Discard, io.LimitReader(stream, drainLimit+1))
		if err != nil || read > drainLimit {
			ctx.SetConnectionClose()
		}
	}
}
