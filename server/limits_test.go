package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/server"
)

func TestRateLimit(t *testing.T) {
	// Three at once, then one a second.
	e := newEnv(t, config.SQLite, func(c *config.Config) { c.RateLimit = config.RateLimit{PerMinute: 60, Burst: 3} })
	alice, bob, carol := e.token("alice"), e.token("bob"), e.token("carol")

	t.Run("per user, with RateLimit headers", func(t *testing.T) {
		for i, wantRemaining := range []string{"2", "1", "0"} {
			r := e.call("GET", "/api/alice/tasks", alice, nil)
			if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "3" ||
				r.header.Get("RateLimit-Remaining") != wantRemaining || r.header.Get("RateLimit-Policy") != "3;w=3" {
				t.Fatalf("request %d: %d %v", i, r.status, r.header)
			}
			if reset, err := strconv.Atoi(r.header.Get("RateLimit-Reset")); err != nil || reset < 1 || reset > 3 {
				t.Errorf("RateLimit-Reset %q", r.header.Get("RateLimit-Reset"))
			}
		}
		r := e.call("POST", "/api/alice/tasks", alice, map[string]any{"title": "over the limit"})
		p := r.problem(t, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "1" || r.header.Get("RateLimit-Remaining") != "0" || !strings.Contains(p.Detail, "retry") {
			t.Errorf("429 headers %v, body %+v", r.header, p)
		}
		if got := e.call("GET", "/api/alice/tasks", alice, nil); got.status != 200 || got.body[0] != '[' || len(got.body) > 2 {
			// still limited (the clock has hardly moved) …
			if got.status != http.StatusTooManyRequests {
				t.Errorf("after 429: %d", got.status)
			}
		}
		// … and nothing was created by the refused POST.
		var n int64
		e.db.Table("tasks").Count(&n)
		if n != 0 {
			t.Errorf("%d tasks after a refused create", n)
		}
	})

	t.Run("other users are not affected", func(t *testing.T) {
		if r := e.call("GET", "/api/bob/tasks", bob, nil); r.status != 200 || r.header.Get("RateLimit-Remaining") != "2" {
			t.Errorf("bob: %d %v", r.status, r.header)
		}
	})

	t.Run("the bucket refills", func(t *testing.T) {
		e.clock.advance(1100 * time.Millisecond)
		if r := e.call("GET", "/api/alice/tasks", alice, nil); r.status != 200 {
			t.Errorf("after a second: %d", r.status)
		}
	})

	t.Run("anonymous requests by IP, never blocking valid tokens", func(t *testing.T) {
		statuses := []int{}
		for _, tok := range []string{"", "", "garbage", "garbage"} {
			statuses = append(statuses, e.call("GET", "/api/carol/tasks", tok, nil).status)
		}
		if statuses[0] != 401 || statuses[1] != 401 || statuses[2] != 401 || statuses[3] != 429 {
			t.Errorf("anonymous statuses %v, want 401 401 401 429", statuses)
		}
		r := e.call("GET", "/nope", "", nil)
		r.problem(t, http.StatusTooManyRequests)
		if r := e.call("GET", "/api/carol/tasks", carol, nil); r.status != 200 {
			t.Errorf("carol's valid token from the same address: %d", r.status)
		}
	})

	t.Run("health and metrics are never limited", func(t *testing.T) {
		for range 10 {
			for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
				if r := e.call("GET", path, "", nil); r.status != 200 {
					t.Fatalf("%s: %d", path, r.status)
				}
			}
		}
	})

	t.Run("metrics count refusals by key", func(t *testing.T) {
		text := e.scrape()
		if metricValue(text, "todo_api_rate_limited_total", "key", "user") != "2" || metricValue(text, "todo_api_rate_limited_total", "key", "ip") != "2" {
			t.Errorf("rate_limited_total:\n%s", grep(text, "rate_limited"))
		}
	})
}

func TestRateLimitOff(t *testing.T) {
	e := newEnv(t, config.SQLite) // PerMinute 0
	alice := e.token("alice")
	for i := range 50 {
		if r := e.call("GET", "/api/alice/tasks", alice, nil); r.status != 200 || r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
	}
}

// TestStuckDatabase holds a lock every task query waits for: requests must
// come back 503 at the DB_TIMEOUT deadline instead of hanging, the refused
// create must leave no row (the query is cancelled on the server, not just
// abandoned), and the service must serve again once the lock goes.
func TestStuckDatabase(t *testing.T) {
	const deadline = 700 * time.Millisecond
	e := newEnv(t, config.Postgres, func(c *config.Config) { c.Database.Timeout = deadline })
	e.listen()
	alice := e.token("alice")
	e.create("alice", map[string]any{"title": "before"})

	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE").Error; err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-done:
		t.Fatalf("lock: %v", err)
	}
	for _, tc := range []struct {
		method string
		body   any
	}{{"GET", nil}, {"POST", map[string]any{"title": "during"}}} {
		start := time.Now()
		r := e.call(tc.method, "/api/alice/tasks", alice, tc.body)
		took := time.Since(start)
		r.problem(t, http.StatusServiceUnavailable)
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tc.method)
		}
		if took < deadline || took > deadline+2*time.Second {
			t.Errorf("%s answered after %v, want about %v", tc.method, took, deadline)
		}
	}
	if r := e.call("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz %d while the database is stuck", r.status)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var list []task
	r := e.call("GET", "/api/alice/tasks", alice, nil)
	r.decode(t, &list)
	if r.status != 200 || len(list) != 1 || list[0].Title != "before" {
		t.Errorf("after the lock: %d %s", r.status, r.body)
	}
}

func TestReadinessChecks(t *testing.T) {
	keysUp := true
	e := newEnvWith(t, config.SQLite, func(d *server.Deps) {
		d.Readiness = append(d.Readiness, server.ReadinessCheck{Name: "jwks", Check: func(ctx context.Context) error {
			if keysUp {
				return nil
			}
			return errors.New("GET https://auth.internal.example/jwks: connection refused")
		}})
	})
	r := e.call("GET", "/readyz", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"jwks":"ok"`) || !strings.Contains(string(r.body), `"database":"ok"`) {
		t.Errorf("ready: %d %s", r.status, r.body)
	}
	keysUp = false
	r = e.call("GET", "/readyz", "", nil)
	p := r.problem(t, http.StatusServiceUnavailable)
	if !strings.Contains(p.Detail, "jwks") || strings.Contains(p.Detail, "database") || strings.Contains(string(r.body), "internal.example") {
		t.Errorf("detail %q (body %s) should name jwks only, without its error", p.Detail, r.body)
	}
	if !strings.Contains(e.logs.String(), "auth.internal.example") {
		t.Error("the failing check's error is not in the log")
	}
}

// TestSlowClient: a client that trickles its headers is cut off at the read
// timeout instead of holding a connection (and a worker) for ever.
func TestSlowClient(t *testing.T) {
	e := newEnv(t, config.SQLite, func(c *config.Config) { c.HTTP.ReadTimeout = 300 * time.Millisecond })
	e.listen()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	closed := make(chan struct{})
	go func() {
		// Keep trickling, a byte every 100 ms, as a slowloris client would.
		for {
			select {
			case <-closed:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := io.WriteString(conn, "X"); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn)
	close(closed)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after 5 s")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cut off after %v, want about 300 ms", took)
	}
}

// addressCase is two anonymous requests through hops proxies, and whether
// they share a bucket.
type addressCase struct {
	name          string
	hops          int
	first, second []string
	sameKey       bool
}

// TestRateLimitClientAddress: behind a proxy, anonymous requests are keyed on
// the entry the proxies appended to PROXY_HEADER (PROXY_HOPS from the right),
// never on what the client wrote to the left of it, and an IPv6 client on
// its /64. Each row sends two anonymous requests with a bucket of one: the
// second is refused exactly when both have the same key.
func TestRateLimitClientAddress(t *testing.T) {
	xff := func(values ...string) []string {
		var h []string
		for _, v := range values {
			h = append(h, "X-Forwarded-For: "+v)
		}
		return h
	}
	cases := []addressCase{
		{"a forged left-most entry buys no fresh bucket", 1, xff("203.0.113.9, 198.51.100.1"), xff("10.9.9.9, 198.51.100.1"), true},
		{"two clients of the proxy", 1, xff("198.51.100.2"), xff("198.51.100.3"), false},
		{"the proxy's entry on a header line of its own", 1, xff("198.51.100.4"), xff("203.0.113.7", "198.51.100.4"), true},
		{"an address with a port", 1, xff("198.51.100.5:4711"), xff("198.51.100.5"), true},
		{"IPv4 written as IPv6", 1, xff("::ffff:198.51.100.6"), xff("198.51.100.6"), true},
		{"one IPv6 /64", 1, xff("2001:db8:1:2::1"), xff("[2001:db8:1:2:ffff:ffff:ffff:fffe]"), true},
		{"two IPv6 /64s", 1, xff("2001:db8:1:3::1"), xff("2001:db8:1:4::1"), false},
		{"not an address: the peer's", 1, xff("198.51.100.7, not-an-address"), nil, true},
		{"two proxies: a forged entry buys no fresh bucket", 2, xff("203.0.113.1, 198.51.100.8, 203.0.113.250"), xff("198.51.100.8, 203.0.113.251"), true},
		{"two proxies: two clients behind the same edge", 2, xff("198.51.100.9, 203.0.113.250"), xff("198.51.100.10, 203.0.113.250"), false},
		{"two proxies, one entry: the peer's", 2, xff("198.51.100.11"), nil, true},
	}
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) { testClientAddress(t, driver, cases) })
	}
}

func testClientAddress(t *testing.T, driver string, cases []addressCase) {
	envs := map[int]*env{}
	for _, hops := range []int{1, 2} {
		e := newEnv(t, driver, func(c *config.Config) {
			c.RateLimit = config.RateLimit{PerMinute: 60, Burst: 1}
			c.HTTP.ProxyHeader, c.HTTP.ProxyHops = "X-Forwarded-For", hops
		})
		e.listen()
		envs[hops] = e
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := envs[tc.hops]
			if r, body := e.dialRaw(t).do(head("GET", "/nope", "", tc.first...)); r.StatusCode != 404 {
				t.Fatalf("first request: %d %s", r.StatusCode, body)
			}
			r, body := e.dialRaw(t).do(head("GET", "/nope", "", tc.second...))
			if want := map[bool]int{true: 429, false: 404}[tc.sameKey]; r.StatusCode != want {
				t.Errorf("second request: %d, want %d: %s", r.StatusCode, want, body)
			}
		})
	}
	t.Run("a valid token is limited by user, not address", func(t *testing.T) {
		e := envs[1]
		for _, user := range []string{"alice", "bob"} {
			r, body := e.dialRaw(t).do(head("GET", "/api/"+user+"/tasks", e.token(user), "X-Forwarded-For: 198.51.100.1"))
			if r.StatusCode != 200 {
				t.Errorf("%s from an exhausted address: %d %s", user, r.StatusCode, body)
			}
		}
	})
}

// TestConnectionCap: the listener main serves on holds at most
// HTTP_MAX_CONNS_PER_IP connections from one address; the next is told so
// in a problem+json 429 and closed, and a closed connection frees its place.
func TestConnectionCap(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ln, err := server.Listen("127.0.0.1:0", 2)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = e.app.Listener(ln) }()
		t.Cleanup(func() { _ = e.app.Shutdown() })
		e.baseURL = "http://" + ln.Addr().String()
		alice, bob := e.dialRaw(t), e.dialRaw(t)
		for user, rc := range map[string]*rawConn{"alice": alice, "bob": bob} {
			if r, body := rc.do(head("GET", "/api/"+user+"/tasks", e.token(user))); r.StatusCode != 200 {
				t.Fatalf("%s: %d %s", user, r.StatusCode, body)
			}
		}
		r, body := e.dialRaw(t).do(head("GET", "/healthz", ""))
		if r.StatusCode != 429 || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Retry-After") == "" ||
			!r.Close || !strings.Contains(string(body), "connections") {
			t.Errorf("third connection: %d %v %s", r.StatusCode, r.Header, body)
		}
		alice.c.Close()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			// The server notices the close when it next reads.
			if r, _ := e.dialRaw(t).do(head("GET", "/healthz", "")); r.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the closed connection's place was never freed")
			}
		}
	})
}

// TestIdleConnectionClosed: a keep-alive connection that sends nothing more
// is closed at HTTP_IDLE_TIMEOUT, however recently it was used.
func TestIdleConnectionClosed(t *testing.T) {
	for _, driver := range []string{config.SQLite, config.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, func(c *config.Config) { c.HTTP.IdleTimeout = 300 * time.Millisecond })
			e.listen()
			for _, user := range []string{"alice", "bob"} {
				rc := e.dialRaw(t)
				if r, body := rc.do(head("GET", "/api/"+user+"/tasks", e.token(user))); r.StatusCode != 200 || r.Close {
					t.Fatalf("%s: %d (close %v) %s", user, r.StatusCode, r.Close, body)
				}
				start := time.Now()
				_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := rc.br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Fatalf("%s: read %d bytes (%v), want the server's close", user, n, err)
				}
				if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
					t.Errorf("%s: closed after %v, want about 300 ms", user, took)
				}
			}
		})
	}
}
