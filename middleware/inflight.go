package middleware

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/metrics"
	"todo-api/problem"
)

// InFlight caps the requests one user has in progress at once, and among
// them the costly ones: those whose database work grows with the number of
// the user's tasks (the routes registered with Costly). The rate limit
// counts requests, not their cost, and 40 searches of 0.6 s each, under the rate limit, held every
// database connection; a cap on what is in flight charges each request
// for as long as it runs, so a user's share of the database is at most
// the cap's number of connections however slow their requests are.
//
// A request over the cap waits up to a short time for a slot (a browser
// that loads a list and the counts at once, a burst of toggles) and is
// then refused with 429 and Retry-After, in the shape of the rate limit's.
type InFlight struct {
	perUser, costlyPerUser int
	wait                   time.Duration
	mark                   func(context.Context) context.Context
	metrics                *metrics.Registry

	mu    sync.Mutex
	users map[string]*userSlots
}

// userSlots are one user's slots, present while a request of theirs holds
// or waits for one.
type userSlots struct {
	all, costly chan struct{}
	refs        int
}

// NewInFlight caps each user at perUser requests in flight, costlyPerUser
// of them costly, waiting up to wait for a slot; perUser 0 turns the cap
// off. mark, when set, marks every costly request's context for the
// database (database.Costly), capped or not; m may be nil.
func NewInFlight(perUser, costlyPerUser int, wait time.Duration, mark func(context.Context) context.Context, m *metrics.Registry) *InFlight {
	return &InFlight{perUser: perUser, costlyPerUser: min(costlyPerUser, perUser), wait: wait, mark: mark,
		metrics: m, users: map[string]*userSlots{}}
}

// Cheap applies the cap to a request whose work does not grow with the
// user's number of tasks (one task or list by id, a create, a feed page of
// at most 500 changes). It runs after the token check and the rate limit,
// before the body is read.
func (f *InFlight) Cheap(c *fiber.Ctx) error { return f.handle(c, false) }

// Costly applies the cap to a request whose database work grows with the
// user's number of tasks (a list page and its search, the counts, every
// list with its counts, clearing the completed tasks): at most
// costlyPerUser of them at once, and its context is marked for the
// database (database.Costly).
func (f *InFlight) Costly(c *fiber.Ctx) error { return f.handle(c, true) }

// handle is the cap for both kinds. A route registered with neither
// handler holds no slot: a long-lived stream must not take one of the
// user's slots for its whole life.
func (f *InFlight) handle(c *fiber.Ctx, costly bool) error {
	// UserID's string belongs to the token, not to Fiber's reused buffers.
	user := UserID(c)
	if user == "" {
		return c.Next()
	}
	if costly && f.mark != nil {
		parent := c.UserContext()
		c.SetUserContext(f.mark(parent))
		defer c.SetUserContext(parent)
	}
	if f.perUser == 0 {
		return c.Next()
	}
	s := f.acquire(user)
	defer f.release(user)

	var timer *time.Timer
	expired := func() <-chan time.Time {
		if timer == nil {
			timer = time.NewTimer(f.wait)
		}
		return timer.C
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// The costly slot first: a request waiting for one must not hold one
	// of the user's other slots meanwhile.
	if costly {
		if !take(s.costly, expired) {
			return f.refuse()
		}
		defer func() { <-s.costly }()
	}
	if !take(s.all, expired) {
		return f.refuse()
	}
	defer func() { <-s.all }()
	return c.Next()
}

// take takes a slot of sem, at once or before expired fires.
func take(sem chan struct{}, expired func() <-chan time.Time) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	select {
	case sem <- struct{}{}:
		return true
	case <-expired():
		return false
	}
}

func (f *InFlight) acquire(user string) *userSlots {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.users[user]
	if s == nil {
		s = &userSlots{all: make(chan struct{}, f.perUser), costly: make(chan struct{}, f.costlyPerUser)}
		f.users[user] = s
	}
	s.refs++
	return s
}

// release forgets a user none of whose requests holds or waits for a slot,
// so that the map holds only users with requests in progress.
func (f *InFlight) release(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.users[user]; s != nil {
		if s.refs--; s.refs == 0 {
			delete(f.users, user)
		}
	}
}

func (f *InFlight) refuse() error {
	f.metrics.RateLimited("in_flight")
	// A slot frees when one of the user's requests ends, which the
	// statement timeout bounds; a second is the shortest Retry-After there is.
	const wait = 1
	return problem.New(fiber.StatusTooManyRequests,
		"Too many of your requests are in progress at once; retry in "+strconv.Itoa(wait)+" s.").
		WithHeader(fiber.HeaderRetryAfter, strconv.Itoa(wait))
}
