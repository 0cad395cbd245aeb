// Package ratelimit bounds what one client may take from this process: a
// token bucket per key (a user id, a client address) for requests, and a cap
// on the connections one address holds open. Each instance of the service
// counts on its own: behind a load balancer with n instances a client may
// get up to n times the configured rate. That is the price of needing no
// shared store, and it still stops a runaway client from taking an
// instance down.
package ratelimit

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// shardCount spreads keys over independently locked maps so concurrent
// requests from different users rarely wait for each other.
const shardCount = 64

// DefaultMaxKeys bounds the buckets one Limiter holds at once (about 8 MB).
const DefaultMaxKeys = 50_000

// sweepEvery is how often a shard drops the buckets that have refilled.
const sweepEvery = time.Minute

// evictSample is how many buckets a full shard looks at to choose the one
// to drop.
const evictSample = 8

// Limiter hands out tokens from per-key buckets (x/time/rate limiters) that
// hold up to burst tokens and refill at rate tokens per second.
type Limiter struct {
	rate        rate.Limit
	burst       int
	now         func() time.Time
	maxPerShard int
	seed        maphash.Seed
	shards      [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// Decision is the outcome of one Take, with what the RateLimit-* headers say.
type Decision struct {
	Allowed bool
	// Limit is the bucket size.
	Limit int
	// Remaining is the whole tokens left after this request.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is how long until the next token, when !Allowed.
	RetryAfter time.Duration
}

// New returns a limiter allowing perMinute requests a minute per key, with
// bursts of up to burst requests, holding at most DefaultMaxKeys buckets.
// now is the clock (time.Now in main).
func New(perMinute, burst int, now func() time.Time) *Limiter {
	return NewBounded(perMinute, burst, DefaultMaxKeys, now)
}

// NewBounded is New holding at most about maxKeys buckets.
func NewBounded(perMinute, burst, maxKeys int, now func() time.Time) *Limiter {
	l := &Limiter{
		rate:        rate.Limit(float64(perMinute) / 60),
		burst:       burst,
		now:         now,
		maxPerShard: max(1, maxKeys/shardCount),
		seed:        maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*rate.Limiter)
	}
	return l
}

// Burst is the bucket size, the RateLimit-Limit a client sees.
func (l *Limiter) Burst() int { return l.burst }

// Window is the time an empty bucket takes to fill, the w of RateLimit-Policy.
func (l *Limiter) Window() time.Duration { return l.timeFor(float64(l.burst)) }

// Take spends one token of key's bucket if it has one.
func (l *Limiter) Take(key string) Decision {
	now := l.now()
	s := &l.shards[l.shardIndex(key)]
	s.mu.Lock()
	defer s.mu.Unlock()

	b, ok := s.buckets[key]
	if !ok {
		l.makeRoom(s, now)
		b = rate.NewLimiter(l.rate, l.burst)
		// The key may point into a request buffer the server reuses.
		s.buckets[strings.Clone(key)] = b
	}
	d := Decision{Limit: l.burst, Allowed: b.AllowN(now, 1)}
	tokens := b.TokensAt(now)
	if !d.Allowed {
		d.RetryAfter = l.timeFor(1 - tokens)
	}
	d.Remaining = int(math.Floor(tokens))
	d.Reset = l.timeFor(float64(l.burst) - tokens)
	return d
}

func (l *Limiter) shardIndex(key string) uint64 {
	return maphash.String(l.seed, key) % shardCount
}

// timeFor is how long a bucket takes to gain tokens.
func (l *Limiter) timeFor(tokens float64) time.Duration {
	if tokens <= 0 {
		return 0
	}
	return time.Duration(tokens / float64(l.rate) * float64(time.Second))
}

// makeRoom keeps memory bounded. A bucket that has refilled is the same as
// no bucket, so dropping it loses nothing; once a minute a shard drops all
// of those. If the shard is still full (many keys busy at once, as under a
// flood of addresses), the fullest of a few buckets goes: an exhausted one
// only when every one looked at is exhausted, so that a flood of new keys
// does not hand a limited client a fresh burst.
func (l *Limiter) makeRoom(s *shard, now time.Time) {
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.lastSweep = now
		for k, b := range s.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(s.buckets, k)
			}
		}
	}
	if len(s.buckets) < l.maxPerShard {
		return
	}
	victim, most, seen := "", -1.0, 0
	for k, b := range s.buckets { // in random order
		if t := b.TokensAt(now); t > most {
			victim, most = k, t
		}
		if seen++; seen == evictSample || most >= float64(l.burst) {
			break
		}
	}
	delete(s.buckets, victim)
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
