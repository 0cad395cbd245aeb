package server_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
)

// The event attacks: the change feed and the event stream as an attacker
// with an ordinary account would abuse them. What events_test.go covers is
// not repeated: another user's cursor, a garbage one and one past the head
// on /events, by header and by query, also via me
// (TestEventsRefuseForeignCursors, and TestChangeFeedCursors on the feed);
// the caps one stream at a time (TestEventsCaps); one reader that reads
// nothing (TestEventsDropSlowReader); a quiet stream at its token's exp
// (TestEventsLifetime). Here: cursors forged byte by byte, Last-Event-ID
// values that are no header a client would send, floods of concurrent
// opens at both caps, a stalled reader beside live ones, and busy or
// nearly expired streams at exp.

// forge builds a cursor as the server encodes one (controllers/feed.go):
// "c_" and the base64url of the positions and 4 bytes of SHA-256 of the
// user id; the tag is no secret, so anyone can compute it.
func forge(user string, positions ...uint64) string {
	var raw []byte
	for _, p := range positions {
		raw = binary.BigEndian.AppendUint64(raw, p)
	}
	sum := sha256.Sum256([]byte(user))
	return "c_" + base64.RawURLEncoding.EncodeToString(append(raw, sum[:4]...))
}

// feedOf reads user's whole feed from since (all pages) with the token of
// user, checking that every entry is user's own.
func feedOf(t *testing.T, e *env, path, user, since string, own map[int64]bool) {
	t.Helper()
	for page := 0; page < 50; page++ {
		q := ""
		if since != "" {
			q = "?since=" + url.QueryEscape(since)
		}
		var p feedPage
		r := e.call("GET", path+q, e.token(user), nil)
		if r.status != 200 {
			t.Fatalf("%s%s: %d %s", path, q, r.status, r.body)
		}
		r.decode(t, &p)
		for _, ch := range p.Changes {
			switch {
			case ch.Task != nil && ch.Task.UserID != user:
				t.Errorf("%s's feed carries %s's task %d", user, ch.Task.UserID, ch.Task.ID)
			case ch.List != nil && ch.List.UserID != user:
				t.Errorf("%s's feed carries %s's list %d", user, ch.List.UserID, ch.List.ID)
			case ch.Op == "delete" && ch.ID != 0 && !own[ch.ID]:
				t.Errorf("%s's feed carries the delete of task %d, not %s's", user, ch.ID, user)
			}
		}
		if !p.HasMore {
			return
		}
		since = p.Cursor
	}
	t.Fatal("the feed did not end in 50 pages")
}

// TestAttackFeedCursors: cursors forged by hand — another user's tag,
// positions of another user's changes under one's own tag, positions out
// of range, the long form with its positions crossed, encodings the server
// never writes — on the feed and on the stream (?since=), through the
// user's id and through me, for both users. A cursor the server could
// have written for the caller reads only the caller's history; any other
// is 422 naming since, whose answer does not echo it.
func TestAttackFeedCursors(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		// Interleaved writes, so that each user's positions sit between the
		// other's; a delete of each leaves a tombstone.
		own := map[string]map[int64]bool{"alice": {}, "bob": {}}
		for i := 0; i < 4; i++ {
			for _, u := range []string{"alice", "bob"} {
				own[u][e.create(u, map[string]any{"title": fmt.Sprintf("%s's %d", u, i)}).ID] = true
			}
		}
		for _, u := range []string{"alice", "bob"} {
			for id := range own[u] {
				e.call("DELETE", fmt.Sprintf("/api/%s/tasks/%d", u, id), e.token(u), nil)
				break
			}
		}
		for _, tc := range []struct{ user, other string }{{"alice", "bob"}, {"bob", "alice"}} {
			for _, pathUser := range []string{tc.user, "me"} {
				feed, stream := "/api/"+pathUser+"/tasks/changes", "/api/"+pathUser+"/events"
				t.Run(tc.user+" via "+pathUser, func(t *testing.T) {
					// Every position from 0 to past the head under the
					// caller's own tag: only the caller's changes, whatever
					// the other's positions are.
					var head feedPage
					e.call("GET", feed, e.token(tc.user), nil).decode(t, &head)
					raw, _ := base64.RawURLEncoding.DecodeString(head.Cursor[2:])
					top := binary.BigEndian.Uint64(raw[:8])
					for pos := uint64(0); pos <= top; pos++ {
						feedOf(t, e, feed, tc.user, forge(tc.user, pos), own[tc.user])
					}
					refused := []struct{ name, cursor string }{
						{"the other's tag at 0", forge(tc.other, 0)},
						{"the other's tag at the head", forge(tc.other, top)},
						{"the other's tag, long form", forge(tc.other, 0, top)},
						{"the tag of me", forge("me", 0)},
						{"the tag of the empty user", forge("", 0)},
						{"the tag of the id in capitals", forge(strings.ToUpper(tc.user), 0)},
						{"one past the head", forge(tc.user, top+1)},
						{"2^62", forge(tc.user, 1<<62)},
						{"2^62 + 1", forge(tc.user, 1<<62+1)},
						{"negative as int64", forge(tc.user, 1<<63)},
						{"all ones", forge(tc.user, ^uint64(0))},
						{"long form, known below pos", forge(tc.user, top, 0)},
						{"long form, known past the head", forge(tc.user, 0, top+1)},
						{"long form, known 2^63", forge(tc.user, 0, 1<<63)},
						{"three positions", forge(tc.user, 0, 0, 0)},
						{"no position", forge(tc.user)},
						{"padded base64", head.Cursor + "="},
						{"standard base64", strings.NewReplacer("-", "+", "_", "/").Replace(forge(tc.user, 0)) + "+/"},
						{"prefix in capitals", "C_" + head.Cursor[2:]},
						{"no prefix", head.Cursor[2:]},
						{"the prefix twice", "c_" + head.Cursor},
						{"trailing junk", head.Cursor + "junk"},
						{"a trailing NUL", head.Cursor + "\x00"},
						{"a NUL inside", head.Cursor[:5] + "\x00" + head.Cursor[6:]},
						{"non-UTF-8", head.Cursor[:5] + "\xff\xfe" + head.Cursor[7:]},
						{"10 KB", "c_" + strings.Repeat("A", 10*1024)},
						{"a number", "42"},
						{"negative", "-1"},
						{"SQL", "c_' OR '1'='1"},
					}
					for _, c := range refused {
						t.Run(c.name, func(t *testing.T) {
							query := "since=" + url.QueryEscape(c.cursor)
							r := e.call("GET", feed+"?"+query, e.token(tc.user), nil)
							if f := r.problem(t, 422).fields(); len(f) != 1 || f[0] != "since" {
								t.Errorf("%s: fields %v", feed, f)
							}
							notEchoed(t, r, c.cursor)
							// The stream through openStream, which returns at
							// once should one open: e.call would wait for its end.
							s, res := openStream(t, e.baseURL, pathUser, e.token(tc.user), query)
							if s != nil {
								s.close()
								t.Fatalf("%s: a stream opened", stream)
							}
							body, _ := io.ReadAll(res.Body)
							res.Body.Close()
							r = response{status: res.StatusCode, header: res.Header, body: body}
							if f := r.problem(t, 422).fields(); len(f) != 1 || f[0] != "since" {
								t.Errorf("%s: fields %v", stream, f)
							}
							notEchoed(t, r, c.cursor)
						})
					}
				})
			}
		}
	}, quickHeartbeat)
}

// notEchoed fails if any header or the body of r carries s (or a long
// part of it).
func notEchoed(t *testing.T, r response, s string) {
	t.Helper()
	probe := s
	if len(probe) > 24 {
		probe = probe[len(probe)-24:]
	}
	if len(probe) < 8 {
		return // too short to tell from the answer's own text
	}
	for name, vs := range r.header {
		for _, v := range vs {
			if strings.Contains(v, probe) {
				t.Errorf("header %s carries the input: %q", name, v)
			}
		}
	}
	if strings.Contains(string(r.body), probe) {
		t.Errorf("the body carries the input: %s", r.body)
	}
}

// rawStream sends head (the request line and headers, without the blank
// line) on a connection of its own, as no well-behaved client would, and
// returns the answer; a 200 stream is read for its first events (up to
// wait), then closed.
func rawStream(t *testing.T, base, head string, wait time.Duration) (response, []sseEvent) {
	t.Helper()
	var lastErr error
	for try := 0; try < 10; try++ {
		r, evs, err := rawStreamOnce(base, head, wait)
		if err == nil {
			return r, evs
		}
		// A head past the limit is answered 431 and the connection closed
		// unread, which the kernel may turn into a reset before the answer
		// is read (as in oversized).
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no answer in 10 tries: %v", lastErr)
	return response{}, nil
}

func rawStreamOnce(base, head string, wait time.Duration) (response, []sseEvent, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return response{}, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\n\r\n"); err != nil {
		return response{}, nil, err
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return response{}, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		body, err := io.ReadAll(res.Body)
		return response{status: res.StatusCode, header: res.Header, body: body}, nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	var evs []sseEvent
	var ev sseEvent
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) && ev.name != ":" {
				evs = append(evs, ev)
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
	return response{status: 200, header: res.Header}, evs, nil
}

// TestAttackLastEventID: Last-Event-ID values no EventSource sends — line
// breaks that would split the header (or the answer's), NUL, 10 KB,
// bytes that are no UTF-8, a valid cursor with junk after it, the header
// twice — sent raw on the wire. Each is a 4xx problem (from the stream's
// own check, or the server refusing the header), or, where the wire
// itself makes it a valid cursor of the caller's and a header of its own,
// a stream of the caller's events only. No answer is a 5xx, none carries
// another user's event, and no header of an answer carries the input.
func TestAttackLastEventID(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		for _, tc := range []struct{ user, other string }{{"alice", "bob"}, {"bob", "alice"}} {
			t.Run(tc.user, func(t *testing.T) {
				tok := e.token(tc.user)
				first := e.create(tc.user, map[string]any{"title": tc.user + "'s first"})
				var p feedPage
				e.call("GET", "/api/"+tc.user+"/tasks/changes", tok, nil).decode(t, &p)
				valid := p.Cursor
				// After the cursor: one change of each user, so that a
				// resumed stream has something to carry, and something it
				// must not.
				e.create(tc.other, map[string]any{"title": tc.other + "'s secret"})
				mine := e.create(tc.user, map[string]any{"title": tc.user + "'s second"})
				theirs := e.token(tc.other)
				var theirCursor feedPage
				e.call("GET", "/api/"+tc.other+"/tasks/changes", theirs, nil).decode(t, &theirCursor)
				const marker = "Set-Cookie: pwned=1"
				cases := []struct {
					name, value string
					// stream: the wire makes this a valid Last-Event-ID, so
					// a stream of the caller's, resumed after first.
					stream bool
				}{
					{"CRLF and a header, after junk", "c_junk\r\n" + marker, false},
					{"CRLF and a header, after a valid cursor", valid + "\r\n" + marker, true},
					{"CRLF CRLF and a body, after junk", "c_junk\r\n\r\nGET /api/" + tc.other + "/tasks HTTP/1.1", false},
					{"bare LF and a header", "c_junk\n" + marker, false},
					{"bare CR and a header", "c_junk\r" + marker, false},
					{"bare CR after a valid cursor", valid + "\r" + marker, false},
					{"a folded continuation line", valid + "\r\n " + marker, false},
					{"NUL", "c_\x00junk", false},
					{"NUL after a valid cursor", valid + "\x00", false},
					{"10 KB", "c_" + strings.Repeat("A", 10*1024), false},
					{"10 KB after a valid cursor", valid + strings.Repeat("A", 10*1024), false},
					{"20 KB, past the header limit", strings.Repeat("A", 20*1024), false},
					{"non-UTF-8", "c_\xff\xfe\xfd\xfc", false},
					{"non-UTF-8 after a valid cursor", valid + "\xff", false},
					{"a valid cursor and junk", valid + "junk", false},
					{"a valid cursor, a space and junk", valid + " junk", false},
					{"a valid cursor, a comma and another", valid + "," + valid, false},
					{"a valid cursor percent-encoded", url.QueryEscape(valid) + "%00", false},
					{"the other's cursor", theirCursor.Cursor, false},
					{"the other's cursor and the caller's", theirCursor.Cursor + "\r\nLast-Event-ID: " + valid, false},
				}
				for _, c := range cases {
					t.Run(c.name, func(t *testing.T) {
						head := fmt.Sprintf("GET /api/me/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nLast-Event-ID: %s", tok, c.value)
						r, evs := rawStream(t, e.baseURL, head, 700*time.Millisecond)
						if r.status >= 500 {
							t.Fatalf("%d: %s", r.status, r.body)
						}
						for name, vs := range r.header {
							for _, v := range vs {
								if strings.Contains(v, "pwned") || strings.Contains(v, "junk") || len(v) > 1024 {
									t.Errorf("header %s carries the input: %.100q", name, v)
								}
							}
						}
						if _, ok := r.header["Set-Cookie"]; ok {
							t.Errorf("a Set-Cookie: %v", r.header)
						}
						if strings.Contains(string(r.body), "junk") || strings.Contains(string(r.body), "pwned") {
							t.Errorf("the body carries the input: %s", r.body)
						}
						for _, ev := range evs {
							if strings.Contains(ev.data, tc.other) {
								t.Errorf("%s's stream carries %s's event: %s %s", tc.user, tc.other, ev.name, ev.data)
							}
						}
						if !c.stream {
							if r.status < 400 {
								t.Fatalf("%d, want a 4xx; events %v", r.status, evs)
							}
							if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
								t.Errorf("%d %q: %s", r.status, r.header.Get("Content-Type"), r.body)
							}
							return
						}
						// Resumed after first: the second task, then nothing.
						if r.status != 200 || len(evs) != 1 || evs[0].name != "task.created" || !strings.Contains(evs[0].data, fmt.Sprintf(`"id":%d,`, mine.ID)) {
							t.Errorf("%d, events %v; want task.created of %d after %d", r.status, evs, mine.ID, first.ID)
						}
					})
				}
			})
		}
	}, quickHeartbeat)
}

// openMany tries n streams at once, the i-th as users[i%len(users)],
// every other one through me, and returns the admitted ones and how many
// got each status. Every refusal must be a problem; a 503 must say when to
// retry.
func openMany(t *testing.T, e *env, n int, users []string, query string) ([]*eventStream, map[int]int) {
	t.Helper()
	var mu sync.Mutex
	var admitted []*eventStream
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users[i%len(users)]
			pathUser := u
			if i%2 == 1 {
				pathUser = "me"
			}
			s, res := openStream(t, e.baseURL, pathUser, e.token(u), query)
			mu.Lock()
			defer mu.Unlock()
			statuses[res.StatusCode]++
			if s != nil {
				admitted = append(admitted, s)
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%d without a problem: %s", res.StatusCode, body)
			}
			if res.StatusCode == 503 && res.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}()
	}
	wg.Wait()
	return admitted, statuses
}

func closeAll(ss []*eventStream) {
	for _, s := range ss {
		s.close()
	}
}

// floodCaps are the caps the flood tests run with.
const floodPerUser, floodMax = 3, 5

func floodConfig(c *config.Config) {
	c.Events = config.Events{PerUser: floodPerUser, Max: floodMax, Heartbeat: 50 * time.Millisecond}
}

// TestAttackEventFloods: many opens at once past both caps (PerUser 3,
// Max 5): exactly the caps are admitted, never one more; the rest are 429
// (the user's cap) or 503 with Retry-After (the instance's), each a
// problem; once the flood closes, its places are free again.
func TestAttackEventFloods(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		admitted, statuses := openMany(t, e, 30, []string{"alice"}, "")
		if len(admitted) != floodPerUser || statuses[200] != floodPerUser || statuses[429] != 30-floodPerUser {
			t.Errorf("30 opens of alice: %v; want %d admitted, the rest 429", statuses, floodPerUser)
		}
		for _, s := range admitted {
			s.ready()
		}
		var others []string
		for i := 0; i < 10; i++ {
			others = append(others, fmt.Sprintf("user%02d", i))
		}
		more, statuses := openMany(t, e, 40, others, "")
		if len(more) != floodMax-floodPerUser || statuses[200] != floodMax-floodPerUser || statuses[503] != 40-(floodMax-floodPerUser) {
			t.Errorf("40 opens of ten others beside alice's: %v; want %d admitted, the rest 503", statuses, floodMax-floodPerUser)
		}
		closeAll(more)
		closeAll(admitted)
		// A closed stream's place is freed at its next heartbeat.
		var got []*eventStream
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < floodMax {
			u := []string{"alice", "bob"}[len(got)%2]
			s, res := openStream(t, e.baseURL, u, e.token(u), "")
			if s != nil {
				s.ready()
				got = append(got, s)
				continue
			}
			res.Body.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d streams admitted after the flood closed: %d", len(got), floodMax, res.StatusCode)
			}
			time.Sleep(50 * time.Millisecond)
		}
		closeAll(got)
	}, floodConfig)
}

// TestAttackEventRefusalsHoldNoPlace: floods of opens that are refused —
// a cursor past the head (refused after the stream took its place, by the
// first read: while that read runs the place is taken, so some of a
// concurrent flood get 429), junk, another user's path — leave every
// place free: the caps admit as many streams right after as before.
func TestAttackEventRefusalsHoldNoPlace(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		e.create("alice", map[string]any{"title": "a"})
		past := cursorAt(t, e, "alice", 1000)
		for _, tc := range []struct {
			name, as, query string
			status          int
		}{
			{"past the head", "alice", "since=" + url.QueryEscape(past), 422},
			{"junk", "alice", "since=c_junk", 422},
			{"an unknown parameter", "alice", "limit=1", 422},
			{"bob's token", "bob", "", 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var wg sync.WaitGroup
				var mu sync.Mutex
				statuses := map[int]int{}
				for i := 0; i < 30; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, res := openStream(t, e.baseURL, "alice", e.token(tc.as), tc.query)
						res.Body.Close()
						mu.Lock()
						statuses[res.StatusCode]++
						mu.Unlock()
					}()
				}
				wg.Wait()
				// One past the head holds a place while its first read
				// runs, so some of the concurrent ones meet the cap: 429.
				busy := 0
				if tc.status == 422 && tc.name == "past the head" {
					busy = statuses[429]
				}
				if statuses[tc.status] == 0 || statuses[tc.status]+busy != 30 {
					t.Errorf("statuses %v; want 30 × %d", statuses, tc.status)
				}
			})
		}
		// Nothing was admitted, so nothing has to be freed: no wait.
		admitted, statuses := openMany(t, e, floodPerUser, []string{"alice"}, "")
		others, more := openMany(t, e, floodMax-floodPerUser, []string{"bob", "carol"}, "")
		if len(admitted) != floodPerUser || len(others) != floodMax-floodPerUser {
			t.Errorf("after the refused floods: alice %v, others %v", statuses, more)
		}
		closeAll(admitted)
		closeAll(others)
	}, floodConfig)
}

// TestAttackStalledReader: a stream of Alice's whose client stops reading
// holds back nobody: her other stream and Bob's get each change at once
// while the stalled one waits to be dropped (SlowReader 3 s), and the
// stalled one is dropped.
func TestAttackStalledReader(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		tok := e.token("alice")
		// A small receive window from the handshake on.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		stalled, err := d.Dial("tcp", strings.TrimPrefix(e.baseURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer stalled.Close()
		fmt.Fprintf(stalled, "GET /api/alice/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok)
		live, _ := openStream(t, e.baseURL, "me", tok, "")
		live.ready()
		bob, _ := openStream(t, e.baseURL, "bob", e.token("bob"), "")
		bob.ready()
		long := strings.Repeat("x", 1000)
		var worst time.Duration
		// ~2 KB an event: 150 of them overfill what the kernel holds for
		// the stalled client, so its stream blocks on a write.
		for i := 0; i < 150; i++ {
			owner := []string{"alice", "bob"}[i%2]
			start := time.Now()
			tk := e.create(owner, map[string]any{"title": fmt.Sprint("t", i), "description": long})
			s := map[string]*eventStream{"alice": live, "bob": bob}[owner]
			s.expect("task.created", owner, tk.ID)
			worst = max(worst, time.Since(start))
		}
		if worst > 1500*time.Millisecond {
			t.Errorf("a change took %s to reach a live stream beside the stalled one", worst)
		}
		// The stalled stream is dropped: Alice has a place again (PerUser 2).
		deadline := time.Now().Add(10 * time.Second)
		for {
			s, res := openStream(t, e.baseURL, "alice", tok, "")
			if s != nil {
				s.ready()
				s.close()
				break
			}
			res.Body.Close()
			if res.StatusCode != 429 || time.Now().After(deadline) {
				t.Fatalf("the stalled stream still holds its place: %d", res.StatusCode)
			}
			// A heartbeat makes the blocked stream write again.
			time.Sleep(100 * time.Millisecond)
		}
		live.quiet(100 * time.Millisecond)
	}, func(c *config.Config) {
		c.Events = config.Events{PerUser: 2, SlowReader: 3 * time.Second, Heartbeat: 200 * time.Millisecond}
	})
}

// TestAttackStreamAtExp: a stream ends at its token's exp also while
// changes keep coming (via me), and one opened with a token already past
// exp but within the verifier's leeway ends at once: no stream outlives
// its token.
func TestAttackStreamAtExp(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		e.listen()
		t.Run("busy stream", func(t *testing.T) {
			tok := e.token("alice", func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(2 * time.Second).Unix() })
			start := time.Now()
			s, _ := openStream(t, e.baseURL, "me", tok, "")
			s.ready()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
						e.create("alice", map[string]any{"title": fmt.Sprint("busy ", i)})
					}
				}
			}()
			got := s.ended(6 * time.Second)
			close(stop)
			<-done
			took := time.Since(start)
			created := 0
			for _, ev := range got {
				if ev.name == "task.created" {
					created++
				}
			}
			if len(got) == 0 || got[len(got)-1].name != "token-expired" || created == 0 {
				t.Errorf("%d task.created in %d events (%v); want changes, then token-expired", created, len(got), got)
			}
			if took > 3*time.Second {
				t.Errorf("ended after %s; the token expired within 2 s", took)
			}
		})
		t.Run("expired within the leeway", func(t *testing.T) {
			tok := e.token("bob", func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(-10 * time.Second).Unix() })
			start := time.Now()
			s, res := openStream(t, e.baseURL, "bob", tok, "")
			if s == nil {
				res.Body.Close()
				if res.StatusCode != 401 {
					t.Fatalf("%d; want 401 or a stream that ends at once", res.StatusCode)
				}
				return
			}
			got := s.ended(2 * time.Second)
			if len(got) == 0 || got[len(got)-1].name != "token-expired" || time.Since(start) > time.Second {
				t.Errorf("events %v after %s; want token-expired at once", got, time.Since(start))
			}
		})
	}, func(c *config.Config) { c.Events.Heartbeat = 100 * time.Millisecond })
}
