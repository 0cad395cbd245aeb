package server

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/ratelimit"
)

// Drain shuts the server down without cutting anyone off. Fiber's own
// Shutdown closes idle keep-alive connections at once, and a client that is
// just then sending its next request on one sees a reset; it also lets the
// last responses go out without "Connection: close", so clients reuse a
// connection about to be closed. Drain instead stops accepting, keeps
// serving requests on open connections for a short grace period while
// telling every client to close, and only then calls Fiber's Shutdown.
type Drain struct {
	draining atomic.Bool
	inFlight atomic.Int64
	// closers end what would hold shutdown up: the event streams.
	mu      sync.Mutex
	closers []func()
}

// onDrain runs fn when the drain starts.
func (d *Drain) onDrain(fn func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closers = append(d.closers, fn)
}

// NewDrain returns a Drain; pass it in Deps and call Shutdown on a signal.
func NewDrain() *Drain { return &Drain{} }

// track counts requests in flight and, once draining, asks each client to
// close its connection after the response.
func (d *Drain) track(c *fiber.Ctx) error {
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	err := c.Next()
	if d.draining.Load() {
		c.Context().SetConnectionClose()
	}
	return err
}

// Grace is how long open connections may still bring a request after the
// listener has closed; clients in the middle of a keep-alive exchange
// learn within it that they must reconnect.
const Grace = time.Second

// Shutdown stops ln accepting, lets in-flight requests and those arriving on
// open connections within Grace finish, then shuts app down, all before ctx
// ends. It returns ctx's error when requests were still running at the end.
func (d *Drain) Shutdown(ctx context.Context, app *fiber.App, ln *Listener) error {
	d.draining.Store(true)
	_ = ln.Close()
	// Streams never end by themselves, and Fiber's Shutdown waits for
	// every open connection: end them now (their clients reconnect to
	// another instance with Last-Event-ID).
	d.mu.Lock()
	for _, fn := range d.closers {
		fn()
	}
	d.mu.Unlock()

	grace := time.NewTimer(Grace)
	defer grace.Stop()
	select {
	case <-ctx.Done():
	case <-grace.C:
	}
	// Waits for the requests still running and closes idle connections.
	return app.ShutdownWithContext(ctx)
}

// InFlight is the number of requests being handled.
func (d *Drain) InFlight() int64 { return d.inFlight.Load() }

// Listener is a net.Listener whose Close may be called more than once:
// Drain closes it first, and Fiber's Shutdown closes it again and would
// stop at the second close's error.
type Listener struct {
	net.Listener
	once sync.Once
	err  error
}

// Listen opens a TCP listener on addr that holds at most maxConnsPerIP
// connections from one client address at once (0: no cap).
func Listen(addr string, maxConnsPerIP int) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{Listener: ratelimit.LimitConns(ln, maxConnsPerIP, connRefusal())}, nil
}

// Close closes the listener once.
func (l *Listener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
