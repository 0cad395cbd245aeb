package controllers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http/httputil"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/singleflight"

	"todo-api/events"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// The event stream is the change feed pushed: the feed is its only source.
// A stream holds a cursor; whenever its user may have a new change (a
// wake-up from the hub, carrying no data) it reads the feed from that
// cursor to the head, sends each entry as an event and moves the cursor.
// So the catch-up after Last-Event-ID, a live change and the recovery from
// a lost notification are one code path, with no gap and no duplicate by
// construction: the feed's pages skip nothing (feedPage) and the cursor
// only moves past what was sent.

// Events serves GET /api/{user_id}/events.
type Events struct {
	tasks *Tasks
	hub   *events.Hub
	now   models.Clock
	opts  EventsOptions
	// reads lets the streams of one user, woken by one commit, share one
	// read of the feed when they are at the same cursor (a user's tabs).
	reads singleflight.Group
}

// EventsOptions are a stream's timings.
type EventsOptions struct {
	// Heartbeat is the interval of the keep-alive comment line.
	Heartbeat time.Duration
	// SlowReader is how long a write may wait for the client to read.
	SlowReader time.Duration
	// ReadTimeout bounds each read of the feed (the request deadline does
	// not reach a stream, which outlives its handler).
	ReadTimeout time.Duration
	// Log receives why a stream ended abnormally.
	Log *slog.Logger
}

// NewEvents wires the stream handler: tasks reads the feed, hub wakes it.
func NewEvents(tasks *Tasks, hub *events.Hub, now models.Clock, opts EventsOptions) *Events {
	return &Events{tasks: tasks, hub: hub, now: now, opts: opts}
}

// eventsPage is how many feed entries a stream reads at a time.
const eventsPage = 100

// retryAfterFull is the Retry-After of a 503 when the instance has all the
// streams it admits (or is shutting down): another instance, or this one a
// little later, takes the reconnect.
const retryAfterFull = "5"

// Stream opens the caller's event stream. Everything that can fail with a
// status (the cursor, the caps, the first read) is decided here, before the
// 200; after it, the stream ends with an event or by closing.
func (h *Events) Stream(c *fiber.Ctx) error {
	user := middleware.UserID(c)
	start, resume, err := parseEventsStart(c, user)
	if err != nil {
		return err
	}
	// Subscribed before the first read: a change that commits after it
	// wakes the stream, one that committed before it is in the read.
	sub, err := h.hub.Subscribe(user)
	switch {
	case errors.Is(err, events.ErrUserFull):
		return problem.New(fiber.StatusTooManyRequests, "This user has the most event streams open that it may; close one first.")
	case err != nil:
		return problem.Unavailable("This instance has all the event streams it admits; retry shortly.").
			WithHeader(fiber.HeaderRetryAfter, retryAfterFull)
	}
	s := &stream{h: h, sub: sub, user: user, cursor: start.pos, expires: middleware.TokenExpiry(c), conn: c.Context().Conn()}
	limitSendBuffer(s.conn)
	ctx := c.UserContext()
	if resume {
		// The whole cursor, as the feed reads it: a long one's second
		// position past the head is refused here as there.
		s.first, err = h.tasks.feedPageAt(ctx, user, start, eventsPage)
	} else {
		s.cursor, err = h.tasks.store.ChangesHead(ctx, user)
		s.ready = true
	}
	if err != nil {
		sub.Close()
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // nginx and its kind: pass events on at once
	// The connection is not reused after the stream: the client reconnects
	// anyway, and shutdown then has no idle connection to wait for.
	fctx := c.Context()
	fctx.SetConnectionClose()
	// The stream takes the connection over once the middleware has
	// finished the response's head, and writes that head and the chunked
	// body itself. fasthttp's body stream writer would hold, for the whole
	// life of every stream, a second goroutine, a pipe, a copy buffer and
	// the connection's write buffer besides the stream's own
	// (bench/README.md, "Event streams").
	fctx.Response.Header.SetContentLength(-1)
	fctx.HijackSetNoResponse(true)
	fctx.Hijack(func(conn net.Conn) { s.serve(conn, fctx.Response.Header.Header()) })
	return nil
}

// Sizes of a stream's two buffers: events are gathered in the first and
// sent, one chunk a flush, through the second, which only has to hold a
// chunk's framing (a larger write passes it straight to the socket).
const (
	streamEventBuffer = 2 << 10
	streamWireBuffer  = 512
)

// serve writes the response's head and then the stream as a chunked body
// on conn, and ends the body properly, so that a client sees the stream
// end rather than the connection break.
func (s *stream) serve(conn net.Conn, head []byte) {
	wire := bufio.NewWriterSize(conn, streamWireBuffer)
	chunked := httputil.NewChunkedWriter(wire)
	s.wire = wire
	// Sent with the first flush, whose error run reports.
	_, _ = wire.Write(head)
	s.run(bufio.NewWriterSize(chunked, streamEventBuffer))
	if chunked.Close() == nil {
		_, _ = wire.WriteString("\r\n") // no trailers
		_ = wire.Flush()
	}
}

// streamSendBuffer is the kernel's send buffer of a stream's socket.
// Events are small and a live stream sends little at a time; the bound
// keeps what a client that stopped reading holds in the kernel small
// (Linux lets it grow to 4 MiB otherwise), so that it fills and the write
// deadline (SlowReader) drops the client soon after it stops reading.
const streamSendBuffer = 64 << 10

// limitSendBuffer sets streamSendBuffer on conn's TCP socket, under the
// wrappers that keep it (the per-address connection cap).
func limitSendBuffer(conn net.Conn) {
	for conn != nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(streamSendBuffer)
			return
		}
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		conn = w.NetConn()
	}
}

// parseEventsStart reads where the stream starts: Last-Event-ID, else
// ?since=, else now (resume false). A malformed or foreign cursor is 422
// naming since, as in the feed.
func parseEventsStart(c *fiber.Ctx, user string) (since feedCursor, resume bool, err error) {
	raw := c.Get("Last-Event-ID")
	params, errs := querySpec{known: []string{"since"}}.params(c)
	if len(params) == 1 && raw == "" {
		raw = params[0].value
	}
	if len(errs) > 0 {
		return feedCursor{}, false, problem.Validation(errs...)
	}
	if raw == "" {
		return feedCursor{}, false, nil
	}
	since, ok := decodeFeedCursor(raw, user)
	if !ok {
		return feedCursor{}, false, problem.Invalid("since", "is not a cursor of this user's change feed; start over without since or Last-Event-ID")
	}
	return since, true, nil
}

// eventData is an event's data: the entry's cursor and its task, or the
// id of a deleted one.
type eventData struct {
	Cursor string        `json:"cursor"`
	Task   *taskResponse `json:"task,omitempty"`
	ID     *int64        `json:"id,omitempty"`
	List   *listResponse `json:"list,omitempty"`
	ListID *int64        `json:"list_id,omitempty"`
	// Late is set on a reminder event only.
	Late *bool `json:"late,omitempty"`
}

// eventOf names the event of a feed entry. The feed sends each task once
// in its latest state, so a stream that resumes after a task was created
// and edited sees one task.updated: created means version 1, and a client
// applies both alike (an upsert). Lists are named the same way.
func eventOf(ch changeResponse) (string, eventData) {
	data := eventData{Cursor: ch.Cursor, Task: ch.Task, ID: ch.ID, List: ch.List, ListID: ch.ListID}
	switch {
	case ch.ListID != nil:
		return "list.deleted", data
	case ch.List != nil && ch.List.Version == 1:
		return "list.created", data
	case ch.List != nil:
		return "list.updated", data
	case ch.Op == "delete":
		return "task.deleted", data
	case ch.Task != nil && ch.Task.Version == 1:
		return "task.created", data
	default:
		return "task.updated", data
	}
}

// reminderOf tells whether a feed entry is a reminder firing, and whether
// it fired late. The scheduler stamps reminded_at and updated_at with the
// same moment (database/reminders.go), and any later change moves
// updated_at on, so the firing is recognised in the feed itself: a stream
// on any instance, or one resuming with Last-Event-ID, gets it exactly
// once, after the task.updated of the same position.
func reminderOf(ch changeResponse) (late bool, ok bool) {
	t := ch.Task
	if t == nil || t.RemindedAt == nil || t.RemindAt == nil || !t.RemindedAt.Equal(t.UpdatedAt) {
		return false, false
	}
	return models.ReminderLate(*t.RemindAt, *t.RemindedAt), true
}

// stream is one open stream, run in a goroutine of its own on the
// connection it took over after the handler returned: it must not touch
// the fiber.Ctx.
type stream struct {
	h       *Events
	sub     *events.Subscription
	user    string
	cursor  int64
	expires time.Time
	conn    net.Conn
	// ready: the stream started at the head and says so first; otherwise
	// first is the page after Last-Event-ID, read by the handler.
	ready bool
	first feedResponse
	// wire is what the chunks go through to conn.
	wire *bufio.Writer
}

func (s *stream) run(w *bufio.Writer) {
	defer s.sub.Close()
	heartbeat := time.NewTicker(s.h.opts.Heartbeat)
	defer heartbeat.Stop()
	var expired <-chan time.Time
	if !s.expires.IsZero() {
		t := time.NewTimer(s.expires.Sub(s.h.now()))
		defer t.Stop()
		expired = t.C
	}
	more := false
	if s.ready {
		c := encodeCursor(s.cursor, s.user)
		s.event(w, c, "ready", eventData{Cursor: c})
	} else if more = s.send(w, s.first); len(s.first.Changes) == 0 {
		// Nothing was missed. fasthttp sends the headers with the first
		// bytes of the body, so without these the client would not know
		// it is connected (fetch would not resolve) until the first
		// change or heartbeat, up to 15 s later.
		_, _ = w.WriteString(":\n\n")
	}
	if s.flush(w) != nil {
		return
	}
	for {
		if more {
			select {
			case <-s.sub.Done():
				return
			default:
			}
			page, err := s.read()
			if err != nil {
				// The client reconnects with Last-Event-ID and, when the
				// database is back, resumes where this stream stopped.
				s.h.opts.Log.Warn("event stream: reading the change feed failed", "error", err.Error())
				s.event(w, "", "unavailable", eventData{Cursor: encodeCursor(s.cursor, s.user)})
				_ = s.flush(w)
				return
			}
			more = s.send(w, page)
			if s.flush(w) != nil {
				return
			}
			continue
		}
		select {
		case <-s.sub.Done():
			return
		case <-expired:
			s.event(w, "", "token-expired", eventData{Cursor: encodeCursor(s.cursor, s.user)})
			_ = s.flush(w)
			return
		case <-heartbeat.C:
			_, _ = w.WriteString(":\n\n")
			if s.flush(w) != nil {
				return
			}
		case <-s.sub.Wake():
			more = true
		}
	}
}

// read reads the feed page after the cursor, under a deadline of its own.
// It joins a read of another stream of the user at the same cursor only if
// that one began after this stream's wake-up (same generation), so that
// it sees the change that woke this one.
func (s *stream) read() (feedResponse, error) {
	gen := s.sub.Generation()
	key := s.user + "\x00" + strconv.FormatInt(s.cursor, 10) + "\x00" + strconv.FormatUint(gen[0], 10) + "." + strconv.FormatUint(gen[1], 10)
	page, err, _ := s.h.reads.Do(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), s.h.opts.ReadTimeout)
		defer cancel()
		return s.h.tasks.feedPage(ctx, s.user, s.cursor, eventsPage)
	})
	if err != nil {
		return feedResponse{}, err
	}
	return page.(feedResponse), nil
}

// send writes page's entries as events and moves the cursor past them; it
// reports whether more are waiting.
func (s *stream) send(w *bufio.Writer, page feedResponse) bool {
	for _, ch := range page.Changes {
		name, data := eventOf(ch)
		s.event(w, ch.Cursor, name, data)
		if late, ok := reminderOf(ch); ok {
			data.Late = &late
			s.event(w, ch.Cursor, "reminder", data)
		}
	}
	if seq, ok := decodeCursor(page.Cursor, s.user); ok {
		s.cursor = seq
	}
	return page.HasMore
}

// event writes one event; id is its cursor, empty for an event that is no
// position (the client's Last-Event-ID stays the last change's).
func (s *stream) event(w *bufio.Writer, id, name string, data eventData) {
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	if id != "" {
		_, _ = w.WriteString("id: " + id + "\n")
	}
	_, _ = w.WriteString("event: " + name + "\ndata: ")
	_, _ = w.Write(raw)
	_, _ = w.WriteString("\n\n")
}

// flush sends what was written. A client that does not read within
// SlowReader makes the write fail and the stream end, rather than events
// pile up for it; so does one that went away.
func (s *stream) flush(w *bufio.Writer) error {
	if s.conn != nil {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.h.opts.SlowReader))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return s.wire.Flush()
}
