package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"todo-api/problem"
)

// connRefusal is the whole answer, written before the request is read, to a
// connection over HTTP_MAX_CONNS_PER_IP (ratelimit.LimitConns). A client
// that has already sent its request may see a reset instead: the
// connection closes with the request unread.
func connRefusal() []byte {
	body, _ := json.Marshal(problem.New(http.StatusTooManyRequests,
		"Too many connections from this address; close some or retry in a moment."))
	return fmt.Appendf(nil, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: %s\r\nContent-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
		problem.ContentType, len(body), body)
}
