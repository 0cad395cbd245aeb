package middleware

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/metrics"
	"todo-api/problem"
	"todo-api/ratelimit"
)

// RateLimit applies the token buckets: one per user for authenticated
// requests, one per client address for the rest. Answers carry the
// RateLimit-* headers of the IETF draft (RateLimit-Limit, -Remaining,
// -Reset, -Policy); a refused request gets 429 with Retry-After.
type RateLimit struct {
	// users and addresses are apart so that a flood of requests from many
	// addresses can push out only address buckets, never a limited user's.
	users     *ratelimit.Limiter
	addresses *ratelimit.Limiter
	client    ClientAddress
	metrics   *metrics.Registry
	policy    string
	// exempt paths are never limited: the platform's health checks and
	// the metrics scraper must get through whatever clients do.
	exempt map[string]bool
}

// NewRateLimit limits users with users and anonymous requests, by the
// address client finds, with addresses; m may be nil.
func NewRateLimit(users, addresses *ratelimit.Limiter, client ClientAddress, m *metrics.Registry, exempt ...string) *RateLimit {
	rl := &RateLimit{users: users, addresses: addresses, client: client, metrics: m, exempt: map[string]bool{}}
	rl.policy = strconv.Itoa(users.Burst()) + ";w=" + strconv.Itoa(int(math.Ceil(users.Window().Seconds())))
	for _, p := range exempt {
		rl.exempt[p] = true
	}
	return rl
}

// PerUser limits an authenticated user; it runs after the token check.
func (rl *RateLimit) PerUser(c *fiber.Ctx) error {
	if err := rl.take(c, "user", rl.users, UserID(c)); err != nil {
		return err
	}
	return c.Next()
}

// Anonymous limits, by client address, every request that does not end up
// authenticated: those without a token are charged before they run; those
// with one are charged only once the token has failed, so a valid user is
// never refused because of what others behind the same address send.
func (rl *RateLimit) Anonymous(c *fiber.Ctx) error {
	if rl.exempt[c.Path()] {
		return c.Next()
	}
	if c.Get(fiber.HeaderAuthorization) == "" {
		if err := rl.take(c, "ip", rl.addresses, ratelimit.AddressKey(rl.client.Of(c))); err != nil {
			return err
		}
		return c.Next()
	}
	err := c.Next()
	if UserID(c) != "" {
		return err
	}
	if lerr := rl.take(c, "ip", rl.addresses, ratelimit.AddressKey(rl.client.Of(c))); lerr != nil {
		return lerr
	}
	return err
}

func (rl *RateLimit) take(c *fiber.Ctx, kind string, l *ratelimit.Limiter, key string) error {
	d := l.Take(key)
	c.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	c.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	c.Set("RateLimit-Reset", seconds(d.Reset))
	c.Set("RateLimit-Policy", rl.policy)
	if d.Allowed {
		return nil
	}
	rl.metrics.RateLimited(kind)
	wait := seconds(d.RetryAfter)
	return problem.New(fiber.StatusTooManyRequests, "Too many requests; retry in "+wait+" s.").
		WithHeader(fiber.HeaderRetryAfter, wait)
}

// seconds rounds up, so a client that waits that long finds a token.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

// ClientAddress says where a request's client address is found: the peer
// of the connection, or, behind proxies, the header they write it into.
type ClientAddress struct {
	// Header is the proxy's header (X-Forwarded-For, Fly-Client-IP); empty
	// means the peer address.
	Header string
	// Hops is how many proxies append to Header. The client's address is the
	// Hops-th entry from the right: the left of it is whatever the client
	// sent in the header itself, and the right of it the proxies' own.
	Hops int
}

// Of is the client address of c's request. The peer address stands in when
// the header has fewer entries than there are proxies (a request that did
// not come through all of them) or the entry is not an address.
func (a ClientAddress) Of(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	if a.Header == "" {
		return peer
	}
	var entries []string
	for _, v := range c.Request().Header.PeekAll(a.Header) {
		entries = append(entries, strings.Split(string(v), ",")...)
	}
	hops := max(a.Hops, 1)
	if len(entries) < hops {
		return peer
	}
	entry := strings.TrimSpace(entries[len(entries)-hops])
	if addr, err := netip.ParseAddr(strings.Trim(entry, "[]")); err == nil {
		return addr
	}
	if ap, err := netip.ParseAddrPort(entry); err == nil { // "192.0.2.1:4711", "[2001:db8::1]:4711"
		return ap.Addr()
	}
	return peer
}
