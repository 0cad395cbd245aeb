// Package jwks keeps the public keys of a remote JSON Web Key Set — Better
// Auth's /api/auth/jwks — and gives golang-jwt the key a token's kid names.
//
// MicahParks/keyfunc does the fetching, configured here: one background
// goroutine makes every fetch (RefreshTimeout bounds one), again every
// RefreshInterval so that removed keys stop verifying; a failed fetch keeps
// the keys already loaded (RefreshErrorHandler records it), a successful one
// replaces them all; a key set that cannot be fetched at start leaves the
// service running (TolerateInitialJWKHTTPError). Tokens with known kids
// never wait for anything. contrib/jwt's own JWKS support fixes the refresh
// rate limit at five minutes (every user gets 401s for that long after a key
// rotation) and panics at start-up when the key set cannot be fetched, so it
// is not used.
//
// What keyfunc lacks, or does not do right, is kept here: the fetch window
// for unknown kids (window.go: keyfunc's RefreshRateLimit lets two fetches
// through back to back), the check that a key fits the token's algorithm by
// its own type (keys.go), what a response must be to count as a key set
// (fetch.go), readiness with a reason fit for /readyz, and retrying a failed
// first fetch with a growing backoff: keyfunc would try again only at the
// next refresh interval.
//
// Only the JWKS URL from the configuration is ever fetched: the jku, x5u and
// jwk token headers are never read.
package jwks

import (
	"context"
	"errors"
	"fmt"
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
	// DefaultMaxBackoff caps the wait between retries while the first
	// fetches fail.
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
	Client *http.Client
	// MinRefreshInterval is the fetch window: unknown kids cause at most
	// one fetch per window (DefaultMinRefreshInterval).
	MinRefreshInterval time.Duration
	// RefreshInterval is the periodic refresh (DefaultRefreshInterval).
	RefreshInterval time.Duration
	// MaxBackoff caps the wait between retries of a failed first fetch
	// (DefaultMaxBackoff).
	MaxBackoff time.Duration
	// FetchTimeout bounds one fetch (DefaultFetchTimeout).
	FetchTimeout time.Duration
	// Log receives fetch failures and key changes; nil discards them.
	Log *slog.Logger
	// OnFetch, when set, learns the outcome of every fetch (for metrics).
	OnFetch func(error)
}

// Set is a remote key set kept fresh in the background.
type Set struct {
	opts Options
	ctx  context.Context
	// keys is nil until keyfunc.Get has made the first fetch; started is
	// closed then.
	keys    atomic.Pointer[keyfunc.JWKS]
	started chan struct{}

	mu        sync.Mutex
	loaded    bool     // a response was accepted as the key set
	kids      []string // of its usable keys, sorted
	fetchedAt time.Time
	lastErr   error // of the last fetch; nil after a success
	window    window
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
	return &Set{opts: opts, ctx: context.Background(), started: make(chan struct{})}
}

// Start fetches the key set in the background and keeps it fresh until ctx
// ends. It returns at once, so an unreachable key set never delays or stops
// start-up. Call it once.
func (s *Set) Start(ctx context.Context) {
	s.ctx = ctx
	go func() {
		defer close(s.started)
		keys, err := keyfunc.Get(s.opts.URL, keyfunc.Options{
			Ctx:                         ctx,
			Client:                      s.opts.Client,
			RefreshInterval:             s.opts.RefreshInterval,
			RefreshTimeout:              s.opts.FetchTimeout,
			RefreshErrorHandler:         s.failed,
			TolerateInitialJWKHTTPError: true,
			RequestFactory:              request,
			ResponseExtractor:           s.accept,
		})
		if err != nil { // not with TolerateInitialJWKHTTPError; kept for safety
			s.failed(err)
			return
		}
		s.keys.Store(keys)
		go s.retry(ctx, keys)
	}()
}

// retry asks for a fetch, waiting longer after each, until the first
// response has loaded. It asks through the fetch window, so these fetches
// never come closer than MinRefreshInterval to any other.
func (s *Set) retry(ctx context.Context, keys *keyfunc.JWKS) {
	for wait := s.opts.MinRefreshInterval; !s.isLoaded(); wait = min(2*wait, s.opts.MaxBackoff) {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		s.refreshFor(keys)
	}
}

func (s *Set) isLoaded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded
}

// ErrNotLoaded reports that the key set has never been fetched.
var ErrNotLoaded = errors.New("the key set has not been loaded")

// refusal is why the key set verifies no key for a token; the middleware
// reads its reason code through TokenRefusal.
type refusal struct{ code, detail string }

func (r *refusal) Error() string { return r.detail }

// TokenRefusal is the reason code and detail the middleware reports.
func (r *refusal) TokenRefusal() (code, detail string) { return r.code, r.detail }

// Keyfunc returns the key that verifies t, for golang-jwt; the middleware
// Verifier calls it only for the algorithms it pins. The key must also fit
// the token's algorithm by its own type (see fits): neither the header's alg
// nor the JWK's alg is trusted alone.
func (s *Set) Keyfunc(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, &refusal{"kid_missing", "The token has no kid header (a string); a token verified with the Better Auth key set names its key."}
	}
	keys := s.keys.Load()
	if keys == nil {
		// The first fetch is under way: wait for it as long as one may take.
		timer := time.NewTimer(s.opts.FetchTimeout)
		select {
		case <-s.started:
		case <-timer.C:
		}
		timer.Stop()
		if keys = s.keys.Load(); keys == nil {
			return nil, s.notLoaded()
		}
	}
	key, err := keys.Keyfunc(t)
	if errors.Is(err, keyfunc.ErrKIDNotFound) && s.refreshFor(keys) {
		key, err = keys.Keyfunc(t)
	}
	switch {
	case errors.Is(err, keyfunc.ErrKIDNotFound) && s.Ready() != nil:
		return nil, s.notLoaded()
	case errors.Is(err, keyfunc.ErrKIDNotFound):
		s.mu.Lock()
		ago := time.Since(s.fetchedAt).Round(time.Second)
		s.mu.Unlock()
		return nil, &refusal{"kid_unknown", fmt.Sprintf("No key in the key set has the kid %q (last fetched %s ago; unknown kids cause at most one fetch per %s): the token comes from another Better Auth instance, or from a key it no longer publishes.",
			clip(kid), ago, s.opts.MinRefreshInterval)}
	case err != nil || key == nil: // the JWK's alg or use, or shutting down
		return nil, &refusal{"key_mismatch", fmt.Sprintf("The key with the kid %q may not verify this token (%v).", clip(kid), err)}
	case !fits(t.Method.Alg(), key):
		return nil, &refusal{"key_mismatch", fmt.Sprintf("The key with the kid %q does not fit the token's algorithm %s.", clip(kid), t.Method.Alg())}
	}
	return key, nil
}

func (s *Set) notLoaded() error {
	return &refusal{"jwks_unavailable", "The Better Auth key set is not loaded (" + s.Ready().Error() + "); the service retries by itself."}
}

// Ready is nil once the key set has been loaded, and otherwise says why not,
// in words fit for a public readiness endpoint (no addresses, no bodies).
// A later failed refresh does not make it fail: the loaded keys still serve.
func (s *Set) Ready() error {
	s.mu.Lock()
	loaded, kids, lastErr := s.loaded, len(s.kids), s.lastErr
	s.mu.Unlock()
	// keyfunc stores the keys just after accept has approved them.
	if keys := s.keys.Load(); loaded && (kids == 0 || keys != nil && keys.Len() > 0) {
		return nil
	}
	if lastErr != nil && !loaded {
		return errors.New(ErrNotLoaded.Error() + ": " + reason(lastErr))
	}
	return errors.New(ErrNotLoaded.Error() + " yet: the first fetch is under way")
}

// loadedKids records a response accepted as the key set.
func (s *Set) loadedKids(kids []string) {
	s.mu.Lock()
	had, old := s.loaded, s.kids
	s.loaded, s.kids, s.fetchedAt, s.lastErr = true, kids, time.Now(), nil
	s.window.last = s.fetchedAt
	s.mu.Unlock()
	if s.opts.OnFetch != nil {
		s.opts.OnFetch(nil)
	}
	switch {
	case len(kids) == 0:
		s.opts.Log.Warn("jwks holds no usable key", "url", s.opts.URL)
	case !had || !slices.Equal(kids, old):
		s.opts.Log.Info("jwks loaded", "url", s.opts.URL, "kids", kids)
	}
}

// failed is keyfunc's RefreshErrorHandler: the keys already loaded stay.
func (s *Set) failed(err error) {
	if s.ctx.Err() != nil {
		return // shutting down, not failing
	}
	s.mu.Lock()
	s.lastErr = err
	s.window.last = time.Now()
	kept := s.loaded
	s.mu.Unlock()
	if s.opts.OnFetch != nil {
		s.opts.OnFetch(err)
	}
	s.opts.Log.Warn("jwks fetch failed", "url", s.opts.URL, "error", err.Error(), "keys_kept", kept)
}

// clip bounds a kid taken from a token before it is echoed in a detail.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
