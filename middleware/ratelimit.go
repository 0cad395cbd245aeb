package middleware

import (
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/metrics"
	"todo-api/problem"
	"todo-api/ratelimit"
)

// RateLimit applies the token buckets: one per user for authenticated
// requests, one per client IP for the rest. Answers carry the RateLimit-*
// headers of the IETF draft (RateLimit-Limit, -Remaining, -Reset, -Policy);
// a refused request gets 429 with Retry-After.
type RateLimit struct {
	limiter *ratelimit.Limiter
	metrics *metrics.Registry
	policy  string
	// exempt paths are never limited: the platform's health checks and
	// the metrics scraper must get through whatever clients do.
	exempt map[string]bool
}

// NewRateLimit wraps limiter; m may be nil.
func NewRateLimit(limiter *ratelimit.Limiter, m *metrics.Registry, exempt ...string) *RateLimit {
	rl := &RateLimit{limiter: limiter, metrics: m, exempt: map[string]bool{}}
	rl.policy = strconv.Itoa(limiter.Burst()) + ";w=" + strconv.Itoa(int(math.Ceil(limiter.Window().Seconds())))
	for _, p := range exempt {
		rl.exempt[p] = true
	}
	return rl
}

// PerUser limits an authenticated user; it runs after the token check.
func (rl *RateLimit) PerUser(c *fiber.Ctx) error {
	if err := rl.take(c, "user", "u:"+UserID(c)); err != nil {
		return err
	}
	return c.Next()
}

// Anonymous limits, by client IP, every request that does not end up
// authenticated: those without a token are charged before they run; those
// with one are charged only once the token has failed, so a valid user is
// never refused because of what others behind the same address send.
func (rl *RateLimit) Anonymous(c *fiber.Ctx) error {
	if rl.exempt[c.Path()] {
		return c.Next()
	}
	if c.Get(fiber.HeaderAuthorization) == "" {
		if err := rl.take(c, "ip", "ip:"+c.IP()); err != nil {
			return err
		}
		return c.Next()
	}
	err := c.Next()
	if UserID(c) != "" {
		return err
	}
	if lerr := rl.take(c, "ip", "ip:"+c.IP()); lerr != nil {
		return lerr
	}
	return err
}

func (rl *RateLimit) take(c *fiber.Ctx, kind, key string) error {
	d := rl.limiter.Take(key)
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
