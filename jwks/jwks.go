// Package jwks keeps the public keys of a remote JSON Web Key Set — Better
// Auth's /api/auth/jwks — and gives golang-jwt the key a token's kid names.
//
// contrib/jwt has JWKS support of its own, but it fixes the key-set
// library's refresh rate limit at five minutes (every user gets 401s for that
// long after a key rotation) and panics at start-up when the JWKS cannot be
// fetched. Set keeps the parsing and key selection of that library
// (MicahParks/keyfunc) and owns the fetching instead:
//
//   - one background goroutine does every fetch, so fetches never overlap
//     and are at least MinRefreshInterval apart, however many requests ask;
//   - a token with an unknown kid asks for a fetch; when the window allows
//     one now, that request waits for it (a freshly rotated key is accepted
//     at once), otherwise it is refused at once and the fetch happens when
//     the window ends; tokens with known kids never wait for anything;
//   - a key set that cannot be fetched at start leaves the service running:
//     the goroutine retries with backoff and Ready says why it is not ready;
//   - a fetch that fails keeps the keys already loaded; one that succeeds
//     replaces them all, so keys removed from the JWKS stop verifying.
//
// Only the JWKS URL from the configuration is ever fetched: the jku, x5u and
// jwk token headers are never read.
package jwks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v2"
	"github.com/golang-jwt/jwt/v5"
)

// Defaults for the zero fields of Options.
const (
	// DefaultMinRefreshInterval is the rate-limit window: at most one fetch
	// per window. Short, so that a rotated-in key is accepted within
	// seconds; long enough that a flood of made-up kids costs Better Auth
	// only one request per window.
	DefaultMinRefreshInterval = 5 * time.Second
	// DefaultRefreshInterval re-reads the key set even when every kid is
	// known, so that a key removed from it stops verifying.
	DefaultRefreshInterval = 5 * time.Minute
	// DefaultMaxBackoff caps the wait between retries while fetches fail.
	DefaultMaxBackoff = time.Minute
	// DefaultFetchTimeout bounds one fetch, and so the wait of a request
	// whose unknown kid triggered it.
	DefaultFetchTimeout = 5 * time.Second
)

// Options configure a Set. Only URL is required.
type Options struct {
	// URL is the JWKS location, e.g. http://localhost:3000/api/auth/jwks.
	URL string
	// Client fetches the key set; nil means a client with FetchTimeout.
	Client             *http.Client
	MinRefreshInterval time.Duration
	RefreshInterval    time.Duration
	MaxBackoff         time.Duration
	FetchTimeout       time.Duration
	// Log receives fetch failures and key changes; nil discards them.
	Log *slog.Logger
	// OnFetch, when set, learns the outcome of every fetch (for metrics).
	OnFetch func(error)
}

// Set is a remote key set kept fresh by a background goroutine.
type Set struct {
	opts Options
	// keys is nil until the first successful fetch; readers never lock.
	keys atomic.Pointer[keyfunc.JWKS]
	// wake asks the background goroutine for a fetch; one pending request
	// stands for any number.
	wake chan struct{}

	mu          sync.Mutex
	lastAttempt time.Time
	lastErr     error
	kids        []string // of the loaded keys, sorted, for the log
	// inflight is closed when the running fetch ends; nil when none runs.
	inflight chan struct{}
	// upcoming is closed when the next fetch to start ends; requests that
	// asked for a fetch the window allows wait on it.
	upcoming chan struct{}
}

// New returns a Set that holds no keys until Start has fetched them.
func New(opts Options) *Set {
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.FetchTimeout}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Set{opts: opts, wake: make(chan struct{}, 1)}
}

// Start launches the background goroutine, which fetches the key set at once
// and then keeps it fresh until ctx ends. It returns without waiting for the
// first fetch, so an unreachable key set never delays or stops start-up.
func (s *Set) Start(ctx context.Context) {
	go s.run(ctx)
}

// ErrNotLoaded reports that the key set has never been fetched.
var ErrNotLoaded = errors.New("the key set has not been loaded")

var (
	errNoKID      = errors.New("token has no kid header")
	errUnknownKID = errors.New("no key in the key set has the token's kid")
)

// Keyfunc returns the key that verifies t, for golang-jwt; the middleware
// Verifier calls it only for the algorithms it pins. The key must also fit
// the token's algorithm by its own type (see fits): neither the header's alg
// nor the JWK's alg is trusted alone.
func (s *Set) Keyfunc(t *jwt.Token) (any, error) {
	if _, ok := t.Header["kid"].(string); !ok {
		return nil, errNoKID
	}
	key, err := s.lookup(t)
	if errors.Is(err, errUnknownKID) || errors.Is(err, ErrNotLoaded) {
		if done := s.requestFetch(); done != nil {
			timer := time.NewTimer(s.opts.FetchTimeout)
			select {
			case <-done:
				key, err = s.lookup(t)
			case <-timer.C:
			}
			timer.Stop()
		}
	}
	if err != nil {
		return nil, err
	}
	if !fits(t.Method.Alg(), key) {
		return nil, errKeyMismatch
	}
	return key, nil
}

func (s *Set) lookup(t *jwt.Token) (any, error) {
	set := s.keys.Load()
	if set == nil {
		return nil, ErrNotLoaded
	}
	key, err := set.Keyfunc(t)
	if errors.Is(err, keyfunc.ErrKIDNotFound) {
		return nil, errUnknownKID
	}
	return key, err
}

// requestFetch asks the background goroutine for a fetch and returns a
// channel closed when a fetch that can serve the caller ends: the running
// one, or the next one when the window allows it now. It returns nil when
// the window does not: the caller is refused at once and the fetch happens
// when the window ends.
func (s *Set) requestFetch() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if s.inflight != nil {
		return s.inflight
	}
	if time.Since(s.lastAttempt) < s.opts.MinRefreshInterval {
		return nil
	}
	if s.upcoming == nil {
		s.upcoming = make(chan struct{})
	}
	return s.upcoming
}

// Ready is nil once the key set has been loaded, and otherwise says why not,
// in words fit for a public readiness endpoint (no addresses, no bodies).
// A later failed refresh does not make it fail: the loaded keys still serve.
func (s *Set) Ready() error {
	if s.keys.Load() != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var fe *fetchError
	switch {
	case errors.As(s.lastErr, &fe):
		return errors.New(ErrNotLoaded.Error() + ": " + fe.reason)
	case s.lastErr != nil:
		return errors.New(ErrNotLoaded.Error() + ": fetch failed")
	}
	return errors.New(ErrNotLoaded.Error() + " yet: the first fetch is under way")
}

// run does every fetch: now, then on a timer (RefreshInterval after a
// success, a growing backoff after a failure), or sooner when a request asks
// for one — but never two within MinRefreshInterval.
func (s *Set) run(ctx context.Context) {
	backoff := s.opts.MinRefreshInterval
	for {
		wait := s.opts.RefreshInterval
		if err := s.fetch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = backoff
			backoff = min(2*backoff, s.opts.MaxBackoff)
		} else {
			backoff = s.opts.MinRefreshInterval
		}
		if !s.sleep(ctx, wait) {
			return
		}
	}
}

// sleep waits d, or until a request asks for a fetch and the window since the
// last attempt has passed. It reports false when ctx ends.
func (s *Set) sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	case <-s.wake:
	}
	s.mu.Lock()
	rest := s.opts.MinRefreshInterval - time.Since(s.lastAttempt)
	s.mu.Unlock()
	if rest <= 0 {
		return true
	}
	window := time.NewTimer(rest)
	defer window.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-window.C:
	}
	return true
}

// fetch downloads the key set once and, when it is usable, replaces the
// keys; waiting requests are released when it ends either way.
func (s *Set) fetch(ctx context.Context) error {
	s.mu.Lock()
	// Requests that asked before this fetch starts are served by it.
	select {
	case <-s.wake:
	default:
	}
	done := s.upcoming
	if done == nil {
		done = make(chan struct{})
	}
	s.upcoming, s.inflight = nil, done
	s.lastAttempt = time.Now()
	hadKeys, oldKids := s.keys.Load() != nil, s.kids
	s.mu.Unlock()

	set, kids, err := download(ctx, s.opts.Client, s.opts.URL, s.opts.FetchTimeout)

	s.mu.Lock()
	if err == nil {
		s.keys.Store(set)
		s.kids = kids
	}
	s.lastErr = err
	s.inflight = nil
	s.mu.Unlock()
	close(done)
	if s.opts.OnFetch != nil && ctx.Err() == nil {
		s.opts.OnFetch(err)
	}

	switch {
	case err != nil && ctx.Err() == nil:
		s.opts.Log.Warn("jwks fetch failed", "url", s.opts.URL, "error", err.Error(), "keys_kept", hadKeys)
	case err == nil && len(kids) == 0:
		s.opts.Log.Warn("jwks holds no usable key", "url", s.opts.URL)
	case err == nil && (!hadKeys || !slices.Equal(kids, oldKids)):
		s.opts.Log.Info("jwks loaded", "url", s.opts.URL, "kids", kids)
	}
	return err
}
