package ratelimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// LimitConns returns ln holding at most perAddress connections open at once
// from one client address (AddressKey: an IPv6 /64 counts as one address).
// A connection over the cap gets refusal written to it, unread, and is
// closed. perAddress 0 returns ln unchanged.
func LimitConns(ln net.Listener, perAddress int, refusal []byte) net.Listener {
	if perAddress <= 0 {
		return ln
	}
	return &connLimiter{Listener: ln, max: perAddress, refusal: refusal, open: map[string]int{}}
}

type connLimiter struct {
	net.Listener
	max     int
	refusal []byte
	mu      sync.Mutex
	open    map[string]int
}

// Accept returns the next connection within the cap; those over it are
// answered and closed here, so the server never sees them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil { // not an IP peer (a test's pipe, say): nothing to count
			return c, nil
		}
		key := AddressKey(ap.Addr())
		if l.acquire(key) {
			return &countedConn{Conn: c, release: func() { l.release(key) }}, nil
		}
		// A fresh connection's send buffer is empty, so this write does not
		// wait on the client; the deadline only guards against the odd case.
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write(l.refusal)
		_ = c.Close()
	}
}

func (l *connLimiter) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return false
	}
	l.open[key]++
	return true
}

func (l *connLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Deleting at zero keeps the map as small as the set of open addresses.
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// countedConn gives its place back when closed, once however often Close is
// called.
type countedConn struct {
	net.Conn
	closed  atomic.Bool
	release func()
}

// Close closes the connection and frees its place under the cap.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	if !c.closed.Swap(true) {
		c.release()
	}
	return err
}

// NetConn is the connection underneath (the convention of tls.Conn), so
// that socket options can still be set on it.
func (c *countedConn) NetConn() net.Conn { return c.Conn }
