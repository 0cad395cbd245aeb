package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/database"
	"todo-api/events"
	"todo-api/internal/testpg"
	"todo-api/server"
)

// sseEvent is one event of a stream as a client parses it; a comment line
// (the heartbeat) is an event named ":".
type sseEvent struct {
	id, name, data string
}

// eventStream is an open stream read by a goroutine of its own.
type eventStream struct {
	t      *testing.T
	res    *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// openStream opens GET /api/{path user}/events on e's real listener with
// token; headers are name, value pairs. A non-200 is returned unread.
func openStream(t *testing.T, base, pathUser, token string, query string, headers ...string) (*eventStream, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := base + "/api/" + pathUser + "/events"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("opening the stream: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		cancel()
		return nil, res
	}
	s := &eventStream{t: t, res: res, events: make(chan sseEvent, 1000), cancel: cancel}
	go s.read()
	t.Cleanup(s.close)
	return s, res
}

func (s *eventStream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.res.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			ev.name = ":"
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

func (s *eventStream) close() {
	s.cancel()
	_ = s.res.Body.Close()
}

// next is the next event that is not a heartbeat, within d.
func (s *eventStream) next(d time.Duration) (sseEvent, bool) {
	s.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return sseEvent{}, false
			}
			if ev.name == ":" {
				continue
			}
			return ev, true
		case <-timeout:
			s.t.Fatalf("no event within %s", d)
		}
	}
}

// quiet checks that no event but heartbeats comes within d.
func (s *eventStream) quiet(d time.Duration) {
	s.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return
			}
			if ev.name != ":" {
				s.t.Errorf("unexpected event %s %s", ev.name, ev.data)
			}
		case <-timeout:
			return
		}
	}
}

// ended checks that the stream ends within d, and returns what came first.
func (s *eventStream) ended(d time.Duration) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timeout:
			s.t.Fatalf("the stream did not end within %s (got %v)", d, got)
		}
	}
}

// eventBody is an event's data.
type eventBody struct {
	Cursor string `json:"cursor"`
	Task   *task  `json:"task"`
	ID     *int64 `json:"id"`
	List   *list  `json:"list"`
	ListID *int64 `json:"list_id"`
	Late   *bool  `json:"late"`
}

// expect reads the next event and checks its name, that its id is its
// data's cursor, and that its task (or id) is user's task id (any of
// user's tasks for id 0).
func (s *eventStream) expect(name, user string, id int64) eventBody {
	s.t.Helper()
	ev, ok := s.next(5 * time.Second)
	if !ok {
		s.t.Fatalf("the stream ended; wanted %s of task %d", name, id)
	}
	var b eventBody
	if err := json.Unmarshal([]byte(ev.data), &b); err != nil {
		s.t.Fatalf("event %s: data %q: %v", ev.name, ev.data, err)
	}
	if ev.name != name || ev.id == "" || ev.id != b.Cursor {
		s.t.Fatalf("got event %q id %q data %s; want %s with id = data.cursor", ev.name, ev.id, ev.data, name)
	}
	switch {
	case strings.HasPrefix(name, "list."):
		if name == "list.deleted" && (b.ListID == nil || *b.ListID != id || b.List != nil) ||
			name != "list.deleted" && (b.List == nil || b.List.ID != id) || b.Task != nil || b.ID != nil {
			s.t.Fatalf("%s: data %s; want list %d", name, ev.data, id)
		}
	case name == "task.deleted" && (b.ID == nil || *b.ID != id || b.Task != nil):
		s.t.Fatalf("%s: data %s; want id %d and no task", name, ev.data, id)
	case name != "task.deleted" && (b.Task == nil || (id != 0 && b.Task.ID != id) || b.Task.UserID != user):
		s.t.Fatalf("%s: data %s; want %s's task %d", name, ev.data, user, id)
	}
	return b
}

// ready reads the ready event and returns its cursor.
func (s *eventStream) ready() string {
	s.t.Helper()
	ev, ok := s.next(5 * time.Second)
	var b eventBody
	if !ok || ev.name != "ready" || json.Unmarshal([]byte(ev.data), &b) != nil || b.Cursor == "" || ev.id != b.Cursor {
		s.t.Fatalf("first event %+v; want ready with the cursor", ev)
	}
	return b.Cursor
}

// quickHeartbeat makes a stream whose client went away notice it soon (at
// its next write), so that the test server's shutdown need not wait 15 s.
func quickHeartbeat(c *config.Config) { c.Events.Heartbeat = 200 * time.Millisecond }

// TestEventsLiveAndResume: a stream without a cursor starts with ready and
// carries each change of its own user once, named by what happened; a
// no-op sends nothing; a stream resumed with Last-Event-ID (or since) gets
// exactly the changes it missed, in order, then live ones.
func TestEventsLiveAndResume(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		for _, tc := range []struct{ user, pathUser, other string }{
			{"alice", "alice", "bob"},
			{"bob", "me", "alice"},
		} {
			t.Run(tc.user, func(t *testing.T) {
				tok := e.token(tc.user)
				s, _ := openStream(t, e.baseURL, tc.pathUser, tok, "")
				if s.res.Header.Get("Content-Type") != "text/event-stream" || s.res.Header.Get("Cache-Control") != "no-store" ||
					s.res.Header.Get("X-Accel-Buffering") != "no" {
					t.Errorf("headers %v", s.res.Header)
				}
				s.ready()
				// The other user's writes never reach this stream.
				e.create(tc.other, map[string]any{"title": "not yours"})
				a := e.create(tc.user, map[string]any{"title": "a"})
				s.expect("task.created", tc.user, a.ID)
				path := fmt.Sprintf("/api/%s/tasks/%d", tc.user, a.ID)
				e.call("PATCH", path, tok, map[string]any{"title": "a2"})
				if b := s.expect("task.updated", tc.user, a.ID); b.Task.Title != "a2" || b.Task.Version != 2 {
					t.Errorf("updated task %+v", b.Task)
				}
				e.call("PATCH", path, tok, map[string]any{"title": "a2"}) // no-op
				e.call("PATCH", fmt.Sprintf("/api/%s/tasks/%d/toggle", tc.user, a.ID), tok, nil)
				s.expect("task.updated", tc.user, a.ID)
				e.call("DELETE", path, tok, nil)
				last := s.expect("task.deleted", tc.user, a.ID).Cursor
				s.quiet(300 * time.Millisecond)
				s.close()

				// Missed while away: two creates and an edit of an older task.
				b := e.create(tc.user, map[string]any{"title": "b"})
				c := e.create(tc.user, map[string]any{"title": "c"})
				e.call("PATCH", fmt.Sprintf("/api/%s/tasks/%d", tc.user, b.ID), tok, map[string]any{"priority": "high"})
				d := e.create(tc.user, map[string]any{"title": "d"})
				e.create(tc.other, map[string]any{"title": "not yours either"})
				var deletedLive []int64
				for _, resume := range []struct{ query, header string }{
					{"", last},
					{"since=" + url.QueryEscape(last), ""},
				} {
					var hdr []string
					if resume.header != "" {
						hdr = []string{"Last-Event-ID", resume.header}
					}
					r, _ := openStream(t, e.baseURL, tc.pathUser, tok, resume.query, hdr...)
					// The feed sends a task once, in its latest state: c, b (now
					// version 2, after c), d.
					r.expect("task.created", tc.user, c.ID)
					r.expect("task.updated", tc.user, b.ID)
					r.expect("task.created", tc.user, d.ID)
					for _, id := range deletedLive {
						r.expect("task.deleted", tc.user, id)
					}
					r.quiet(300 * time.Millisecond)
					live := e.create(tc.user, map[string]any{"title": "live"})
					r.expect("task.created", tc.user, live.ID)
					r.quiet(200 * time.Millisecond)
					r.close()
					// The next resume from the same cursor sees it only as
					// a tombstone.
					e.call("DELETE", fmt.Sprintf("/api/%s/tasks/%d", tc.user, live.ID), tok, nil)
					deletedLive = append(deletedLive, live.ID)
				}
			})
		}
	}, quickHeartbeat)
}

// TestEventsResumeAtTheHeadAnswersAtOnce: a stream resumed with nothing
// missed answers its headers at once (with a comment line), so that the
// client knows it is connected before the first change or heartbeat; the
// next change then arrives as usual.
func TestEventsResumeAtTheHeadAnswersAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		for _, tc := range []struct{ user, pathUser string }{{"alice", "alice"}, {"bob", "me"}} {
			t.Run(tc.user, func(t *testing.T) {
				tok := e.token(tc.user)
				fresh, _ := openStream(t, e.baseURL, tc.pathUser, tok, "")
				head := fresh.ready()
				fresh.close()
				for _, byHeader := range []bool{true, false} {
					query, hdr := "since="+url.QueryEscape(head), []string(nil)
					if byHeader {
						query, hdr = "", []string{"Last-Event-ID", head}
					}
					start := time.Now()
					s, res := openStream(t, e.baseURL, tc.pathUser, tok, query, hdr...)
					if took := time.Since(start); s == nil || took > time.Second {
						t.Fatalf("resuming at the head (header %v): %v after %s; the heartbeat is every 3 s", byHeader, res.Status, took)
					}
					a := e.create(tc.user, map[string]any{"title": "after resuming"})
					head = s.expect("task.created", tc.user, a.ID).Cursor
					s.close()
				}
			})
		}
	}, func(c *config.Config) { c.Events.Heartbeat = 3 * time.Second })
}

// TestEventsCarryLists: lists are on the stream as on the feed, in
// position order with their tasks' changes: a list's delete with its
// tasks sends the tasks' deletes first.
func TestEventsCarryLists(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		tok := e.token("alice")
		s, _ := openStream(t, e.baseURL, "me", tok, "")
		s.ready()
		e.newList("bob", map[string]any{"name": "Bob's"})
		l := e.newList("alice", map[string]any{"name": "Errands"})
		s.expect("list.created", "alice", l.ID)
		path := fmt.Sprintf("/api/alice/lists/%d", l.ID)
		e.call("PATCH", path, tok, map[string]any{"name": "Errands"}) // no-op
		e.call("PATCH", path, tok, map[string]any{"color": "#00ff00"})
		if b := s.expect("list.updated", "alice", l.ID); b.List.Version != 2 {
			t.Errorf("updated list %+v", b.List)
		}
		filed := e.create("alice", map[string]any{"title": "in it", "list_id": l.ID})
		s.expect("task.created", "alice", filed.ID)
		e.call("DELETE", path+"?tasks=delete", tok, nil)
		s.expect("task.deleted", "alice", filed.ID)
		s.expect("list.deleted", "alice", l.ID)
		s.quiet(300 * time.Millisecond)
		s.close()
	}, quickHeartbeat)
}

// TestEventsRefuseForeignCursors: a cursor of another user, a mistyped one
// or one past the user's head is 422 naming since, by header or query.
func TestEventsRefuseForeignCursors(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		e.create("alice", map[string]any{"title": "a"})
		e.create("bob", map[string]any{"title": "b"})
		var p feedPage
		e.call("GET", "/api/alice/tasks/changes", e.token("alice"), nil).decode(t, &p)
		aliceCursor := p.Cursor
		for _, tc := range []struct {
			name, user, cursor string
		}{
			{"alice's cursor for bob", "bob", aliceCursor},
			{"garbage", "alice", "c_nonsense"},
			{"past the head", "alice", cursorAt(t, e, "alice", 1000)},
			{"bob's cursor for alice via me", "me", cursorAt(t, e, "bob", 1)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				owner := tc.user
				if owner == "me" {
					owner = "alice"
				}
				for _, how := range []struct {
					path    string
					headers []string
				}{
					{"/api/" + tc.user + "/events", []string{"Last-Event-ID", tc.cursor}},
					{"/api/" + tc.user + "/events?since=" + url.QueryEscape(tc.cursor), nil},
				} {
					res := e.call("GET", how.path, e.token(owner), nil, how.headers...)
					if f := res.problem(t, 422).fields(); len(f) != 1 || f[0] != "since" {
						t.Errorf("%s: fields %v", how.path, f)
					}
				}
			})
		}
		if f := e.call("GET", "/api/alice/events?limit=3", e.token("alice"), nil).problem(t, 422).fields(); len(f) != 1 || f[0] != "limit" {
			t.Errorf("unknown parameter: fields %v", f)
		}
		e.call("GET", "/api/bob/events", e.token("alice"), nil).problem(t, 403)
		e.call("GET", "/api/alice/events", "", nil).problem(t, 401)
	})
}

// TestEventsCaps: the per-user cap answers 429, the instance's cap 503
// with Retry-After; a closed stream frees its place.
func TestEventsCaps(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		alice, bob, carol := e.token("alice"), e.token("bob"), e.token("carol")
		a1, _ := openStream(t, e.baseURL, "alice", alice, "")
		openStream(t, e.baseURL, "me", alice, "")
		if _, res := openStream(t, e.baseURL, "alice", alice, ""); res.StatusCode != 429 {
			t.Fatalf("third stream of alice: %d", res.StatusCode)
		}
		e.call("GET", "/api/alice/events", alice, nil).problem(t, 429)
		openStream(t, e.baseURL, "bob", bob, "")
		res := e.call("GET", "/api/carol/events", carol, nil)
		res.problem(t, 503)
		if res.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		// Closing one of alice's streams lets carol in: the server notices
		// at its next heartbeat.
		a1.close()
		deadline := time.Now().Add(3 * time.Second)
		for {
			s, res := openStream(t, e.baseURL, "carol", carol, "")
			if s != nil {
				s.ready()
				break
			}
			if res.StatusCode != 503 || time.Now().After(deadline) {
				t.Fatalf("carol after a stream closed: %d", res.StatusCode)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}, func(c *config.Config) {
		c.Events = config.Events{PerUser: 2, Max: 3, Heartbeat: 50 * time.Millisecond}
	})
}

// TestEventsLifetime: heartbeats come at the configured interval, and the
// stream ends at the token's exp with token-expired.
func TestEventsLifetime(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		tok := e.token("alice", func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(2 * time.Second).Unix() })
		start := time.Now()
		s, _ := openStream(t, e.baseURL, "alice", tok, "")
		s.ready()
		got := s.ended(5 * time.Second)
		heartbeats := 0
		for _, ev := range got {
			if ev.name == ":" {
				heartbeats++
			}
		}
		if len(got) == 0 || got[len(got)-1].name != "token-expired" || heartbeats < 3 {
			t.Errorf("events %v; want heartbeats, then token-expired", got)
		}
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("ended after %s; the token expired within 2 s", took)
		}
	}, func(c *config.Config) { c.Events.Heartbeat = 100 * time.Millisecond })
}

// TestEventsDropSlowReader: a client that stops reading is disconnected,
// which frees its place (PerUser 1: a new stream of the user is admitted).
func TestEventsDropSlowReader(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		tok := e.token("alice")
		addr := strings.TrimPrefix(e.baseURL, "http://")
		// A small receive window from the handshake on.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		raw, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		fmt.Fprintf(raw, "GET /api/alice/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok)
		time.Sleep(200 * time.Millisecond)
		if _, res := openStream(t, e.baseURL, "alice", tok, ""); res.StatusCode != 429 {
			t.Fatalf("second stream while the first is open: %d", res.StatusCode)
		}
		// Fill the connection: the client reads none of it.
		long := strings.Repeat("x", 1000)
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; ; i++ {
			e.create("alice", map[string]any{"title": fmt.Sprint("t", i), "description": long})
			if s, _ := openStream(t, e.baseURL, "alice", tok, ""); s != nil {
				s.ready()
				t.Logf("dropped after %d creates", i)
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the stream that reads nothing is still open")
			}
		}
	}, func(c *config.Config) {
		c.Events = config.Events{PerUser: 1, SlowReader: 200 * time.Millisecond, Heartbeat: 200 * time.Millisecond}
	})
}

// TestEventsEndAtShutdown: the drain ends every stream at once, so
// shutdown does not wait for them.
func TestEventsEndAtShutdown(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		drain := server.NewDrain()
		e = newEnvWith(t, e.cfg.Database.Driver, func(d *server.Deps) { d.Drain = drain })
		ln, err := server.Listen("127.0.0.1:0", 0)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = e.app.Listener(ln) }()
		base := "http://" + ln.Addr().String()
		var streams []*eventStream
		for _, u := range []string{"alice", "bob", "alice"} {
			s, _ := openStream(t, base, u, e.token(u), "")
			s.ready()
			streams = append(streams, s)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := drain.Shutdown(ctx, e.app, ln); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		for _, s := range streams {
			s.ended(time.Second)
		}
		if took := time.Since(start); took > server.Grace+time.Second {
			t.Errorf("shutdown took %s with streams open", took)
		}
	})
}

// listening wires an instance whose streams are woken by the database's
// notifications (as main does on PostgreSQL), and stops its listener at
// the end of the test.
func listening(t *testing.T) func(*server.Deps) {
	return func(d *server.Deps) {
		hub := events.NewHub(10, 100)
		d.Events = hub
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = database.Listen(ctx, testpg.DirectURL(t, d.Config.Database.DSN), d.Log, hub.Notify, hub.WakeAll)
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
}

// TestEventsAcrossInstances (PostgreSQL): a write through one instance
// reaches a stream on another, also the writes made while the notification
// connections were cut (pg_terminate_backend): the streams catch up on
// reconnect, and nothing comes twice.
func TestEventsAcrossInstances(t *testing.T) {
	if rlsMode() {
		t.Skip("two instances on one database: not in row-level security mode")
	}
	a := newEnvWith(t, config.Postgres, listening(t), quickHeartbeat)
	a.listen()
	b := newEnvWith(t, config.Postgres, listening(t), quickHeartbeat, func(c *config.Config) { c.Database.DSN = a.cfg.Database.DSN })
	b.listen()
	for _, user := range []string{"alice", "bob"} {
		t.Run(user, func(t *testing.T) {
			onB, _ := openStream(t, b.baseURL, "me", b.token(user), "")
			onB.ready()
			other := map[string]string{"alice": "bob", "bob": "alice"}[user]
			a.create(other, map[string]any{"title": "not yours"})
			x := a.create(user, map[string]any{"title": "through A"})
			onB.expect("task.created", user, x.ID)

			var cut int64
			if err := a.db.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = 'todo-api-listen' AND datname = current_database()`).Scan(&cut).Error; err != nil || cut != 2 {
				t.Fatalf("cutting the notification connections: %d, %v", cut, err)
			}
			// Within the reconnect delay: no notification of these reaches
			// anyone; the catch-up on reconnect brings them.
			var want []int64
			for i := range 3 {
				want = append(want, a.create(user, map[string]any{"title": fmt.Sprint("while cut ", i)}).ID)
			}
			for _, id := range want {
				onB.expect("task.created", user, id)
			}
			onB.quiet(300 * time.Millisecond)
			y := b.create(user, map[string]any{"title": "through B"})
			onB.expect("task.created", user, y.ID)
		})
	}
}

// TestEventsManyStreamsConcurrentWrites: several streams of one user (tabs,
// also through me) at once, with writers of both users racing: every
// stream of a user gets each of its user's creates exactly once and none
// of the other's.
func TestEventsManyStreamsConcurrentWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		users := []string{"alice", "bob"}
		streams := map[string][]*eventStream{}
		for _, u := range users {
			for _, p := range []string{u, "me", u} {
				s, _ := openStream(t, e.baseURL, p, e.token(u), "")
				s.ready()
				streams[u] = append(streams[u], s)
			}
		}
		const writers, each = 4, 8
		created := map[string]chan int64{}
		done := make(chan struct{})
		for _, u := range users {
			ch := make(chan int64, writers*each)
			created[u] = ch
			for range writers {
				go func() {
					defer func() { done <- struct{}{} }()
					for range each {
						ch <- e.create(u, map[string]any{"title": "race"}).ID
					}
				}()
			}
		}
		for range writers * len(users) {
			<-done
		}
		for _, u := range users {
			close(created[u])
			want := map[int64]bool{}
			for id := range created[u] {
				want[id] = true
			}
			for i, s := range streams[u] {
				got := map[int64]bool{}
				for range len(want) {
					b := s.expect("task.created", u, 0)
					if got[b.Task.ID] || !want[b.Task.ID] {
						t.Errorf("%s stream %d: task %d twice or not %s's", u, i, b.Task.ID, u)
					}
					got[b.Task.ID] = true
				}
				s.quiet(200 * time.Millisecond)
			}
		}
	}, quickHeartbeat)
}

// TestEventsCarryReminders: a reminder firing reaches the owner's streams
// as the task's task.updated and then a reminder event saying whether it
// fired late; a stream resuming from before the firing gets both once;
// the other user's stream gets nothing. The firing instance's writes wake
// the streams as main wires them: in-process on SQLite, by LISTEN on
// PostgreSQL.
func TestEventsCarryReminders(t *testing.T) {
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			var store *database.Store
			wire := func(d *server.Deps) {
				store = database.NewStore(d.DB)
				d.Store = store
				if driver == config.Postgres {
					listening(t)(d)
				} else {
					d.Events = events.NewHub(10, 100)
					store.OnCommit(d.Events.Notify)
				}
			}
			e := newEnvWith(t, driver, wire, quickHeartbeat)
			e.listen()
			sched := e.schedulerOn(store)
			tok := e.token("alice")
			mine, _ := openStream(t, e.baseURL, "alice", tok, "")
			from := mine.ready()
			theirs, _ := openStream(t, e.baseURL, "bob", e.token("bob"), "")
			theirs.ready()

			onTime := e.create("alice", map[string]any{"title": "on time", "remind_at": at(e, time.Second)})
			late := e.create("alice", map[string]any{"title": "late", "remind_at": at(e, -time.Minute)})
			mine.expect("task.created", "alice", onTime.ID)
			mine.expect("task.created", "alice", late.ID)
			e.clock.set(e.clock.Now().Add(2 * time.Second))
			if got := sched.fire(t); len(got) != 2 {
				t.Fatalf("fired %v", got)
			}
			check := func(s *eventStream) {
				t.Helper()
				want := map[int64]bool{onTime.ID: false, late.ID: true}
				for range 2 {
					up := s.expect("task.updated", "alice", 0)
					r := s.expect("reminder", "alice", up.Task.ID)
					if r.Cursor != up.Cursor || r.Late == nil || *r.Late != want[up.Task.ID] || r.Task.RemindedAt == nil {
						t.Errorf("reminder %+v after %+v; want late=%v", r, up, want[up.Task.ID])
					}
					delete(want, up.Task.ID)
				}
				if len(want) != 0 {
					t.Errorf("no reminder for %v", want)
				}
				s.quiet(300 * time.Millisecond)
			}
			check(mine)
			// An edit after the firing is a task.updated and no reminder.
			e.call("PATCH", fmt.Sprintf("/api/alice/tasks/%d", onTime.ID), tok, map[string]any{"title": "edited"})
			mine.expect("task.updated", "alice", onTime.ID)
			mine.quiet(300 * time.Millisecond)
			mine.close()
			theirs.quiet(100 * time.Millisecond)
			theirs.close()

			// Resumed from before the firing: the late task's firing is
			// its latest state, the edited one's is not.
			resumed, _ := openStream(t, e.baseURL, "alice", tok, "", "Last-Event-ID", from)
			up := resumed.expect("task.updated", "alice", late.ID)
			if r := resumed.expect("reminder", "alice", late.ID); r.Cursor != up.Cursor || r.Late == nil || !*r.Late {
				t.Errorf("resumed reminder %+v", r)
			}
			resumed.expect("task.updated", "alice", onTime.ID)
			resumed.quiet(300 * time.Millisecond)
			resumed.close()
		})
	}
}
