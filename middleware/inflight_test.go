package middleware

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/problem"
)

// capTarget is an app whose handlers hold their slot until the test opens
// their gate, so that the test decides what is in flight. Nothing in it can
// hang the test: a handler gives up after holdAtMost, every wait of the
// test has a deadline, and the cleanup opens every gate.
type capTarget struct {
	t       *testing.T
	app     *fiber.App
	entered chan string // "user n" when a request's handler runs

	mu    sync.Mutex
	gates map[string]chan struct{}
}

const (
	holdAtMost = 10 * time.Second
	waitAtMost = 5 * time.Second
)

func newCapTarget(t *testing.T, f *InFlight) *capTarget {
	ct := &capTarget{t: t, entered: make(chan string, 100), gates: map[string]chan struct{}{}}
	ct.app = fiber.New(fiber.Config{ErrorHandler: problem.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	who := func(c *fiber.Ctx) error {
		c.Locals(userIDKey{}, c.Get("X-User"))
		return c.Next()
	}
	hold := func(c *fiber.Ctx) error {
		key := UserID(c) + " " + c.Query("n")
		gate := ct.gate(key)
		ct.entered <- key
		select {
		case <-gate:
		case <-time.After(holdAtMost):
		}
		return c.SendStatus(fiber.StatusOK)
	}
	ct.app.Get("/cheap", who, f.Cheap, hold)
	ct.app.Get("/costly", who, f.Costly, hold)
	t.Cleanup(func() {
		ct.mu.Lock()
		defer ct.mu.Unlock()
		for _, g := range ct.gates {
			close(g)
		}
		ct.gates = map[string]chan struct{}{}
	})
	return ct
}

func (ct *capTarget) gate(key string) chan struct{} {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.gates[key] == nil {
		ct.gates[key] = make(chan struct{})
	}
	return ct.gates[key]
}

// open lets user's request n finish.
func (ct *capTarget) open(user string, n int) {
	key := fmt.Sprintf("%s %d", user, n)
	g := ct.gate(key)
	ct.mu.Lock()
	defer ct.mu.Unlock()
	delete(ct.gates, key)
	close(g)
}

// send starts user's request n to path; its response arrives on the channel.
func (ct *capTarget) send(user, path string, n int) <-chan *http.Response {
	out := make(chan *http.Response, 1)
	req := httptest.NewRequest("GET", fmt.Sprintf("%s?n=%d", path, n), nil)
	req.Header.Set("X-User", user)
	go func() {
		res, err := ct.app.Test(req, int(2*holdAtMost/time.Millisecond))
		if err != nil {
			res = &http.Response{StatusCode: 0, Status: err.Error()}
		}
		out <- res
	}()
	return out
}

// admitted waits for user's request n to be running.
func (ct *capTarget) admitted(user string, n int) {
	ct.t.Helper()
	want := fmt.Sprintf("%s %d", user, n)
	select {
	case got := <-ct.entered:
		if got != want {
			ct.t.Fatalf("%q runs, want %q", got, want)
		}
	case <-time.After(waitAtMost):
		ct.t.Fatalf("%q not admitted within %v", want, waitAtMost)
	}
}

// refused waits for res to be the cap's 429, and fails if its handler runs.
func (ct *capTarget) refused(res <-chan *http.Response, what string) {
	ct.t.Helper()
	select {
	case r := <-res:
		if r.StatusCode != fiber.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" ||
			r.Header.Get("Content-Type") != "application/problem+json" {
			ct.t.Errorf("%s: %d, Retry-After %q, %q; want 429 problem+json, Retry-After 1",
				what, r.StatusCode, r.Header.Get("Retry-After"), r.Header.Get("Content-Type"))
		}
	case key := <-ct.entered:
		ct.t.Errorf("%s: %q runs over the cap", what, key)
	case <-time.After(waitAtMost):
		ct.t.Errorf("%s: no answer within %v", what, waitAtMost)
	}
}

func ok(t *testing.T, res <-chan *http.Response, what string) {
	t.Helper()
	select {
	case r := <-res:
		if r.StatusCode != fiber.StatusOK {
			t.Errorf("%s: %d %s, want 200", what, r.StatusCode, r.Status)
		}
	case <-time.After(waitAtMost):
		t.Errorf("%s: no answer within %v", what, waitAtMost)
	}
}

// TestInFlightCap: each user has at most 3 requests in flight, 2 of them
// costly; one more waits briefly, then is 429 without running; another
// user's requests have slots of their own, and every slot frees when its
// request ends.
func TestInFlightCap(t *testing.T) {
	for _, users := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		t.Run(users[0], func(t *testing.T) {
			f := NewInFlight(3, 2, 100*time.Millisecond, nil, nil)
			ct := newCapTarget(t, f)
			me, other := users[0], users[1]

			c1 := ct.send(me, "/costly", 1)
			ct.admitted(me, 1)
			c2 := ct.send(me, "/costly", 2)
			ct.admitted(me, 2)
			ct.refused(ct.send(me, "/costly", 3), "a third costly request")
			cheap4 := ct.send(me, "/cheap", 4)
			ct.admitted(me, 4) // a cheap request takes the third slot
			ct.refused(ct.send(me, "/cheap", 5), "a fourth request")

			o1 := ct.send(other, "/costly", 1)
			ct.admitted(other, 1) // the other user is not held up
			ct.open(other, 1)
			ok(t, o1, other+"'s costly request")

			ct.open(me, 1)
			ok(t, c1, "the first costly request")
			c6 := ct.send(me, "/costly", 6) // its slot is free again
			ct.admitted(me, 6)
			for n, res := range map[int]<-chan *http.Response{2: c2, 4: cheap4, 6: c6} {
				ct.open(me, n)
				ok(t, res, fmt.Sprintf("request %d", n))
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.users) != 0 {
				t.Errorf("%d users remembered with nothing in flight", len(f.users))
			}
		})
	}
}

// TestInFlightWaitsBriefly: a request over the cap runs when a slot frees
// within the wait.
func TestInFlightWaitsBriefly(t *testing.T) {
	ct := newCapTarget(t, NewInFlight(1, 1, waitAtMost, nil, nil))
	first := ct.send("alice", "/cheap", 1)
	ct.admitted("alice", 1)
	second := ct.send("alice", "/costly", 2)
	select {
	case key := <-ct.entered:
		t.Fatalf("%q runs beside alice 1, over the cap of 1", key)
	case <-time.After(50 * time.Millisecond):
	}
	ct.open("alice", 1)
	ok(t, first, "the first request")
	ct.admitted("alice", 2)
	ct.open("alice", 2)
	ok(t, second, "the waiting request")
}
