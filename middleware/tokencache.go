package middleware

import (
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// maxVerifiedTokens bounds the cache of verified tokens (a few MB at most).
const maxVerifiedTokens = 10_000

// verifiedTokens remembers HS256 tokens that passed the full check, so that
// the next request with the very same token skips decoding its two JSON
// parts and recomputing the HMAC — most of the token check's cost (a
// profile of GET /tasks/{id} under load put 7 % of the service's CPU in
// jwt.ParseWithClaims, two thirds of it in encoding/json). Its claims are
// still checked on every request, with the configured clock and leeway, so
// a cached token expires exactly when an uncached one would.
//
// Only HS256 tokens are kept: their secret cannot change while the process
// runs, so a signature that verified once stays valid. Tokens verified with
// the Better Auth key set are always checked in full, so that a key removed
// from the set stops verifying at the next fetch.
type verifiedTokens struct {
	mu     sync.RWMutex
	claims map[string]*jwt.RegisteredClaims
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{claims: make(map[string]*jwt.RegisteredClaims)}
}

// get returns the claims of a token that verified before.
func (v *verifiedTokens) get(token string) (*jwt.RegisteredClaims, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	c, ok := v.claims[token]
	return c, ok
}

// put remembers a verified token. token must not alias Fiber's buffers.
func (v *verifiedTokens) put(token string, claims jwt.RegisteredClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.claims) >= maxVerifiedTokens {
		// Simplest bound that cannot grow: start over. Clients keep
		// sending their tokens, which refill it.
		clear(v.claims)
	}
	v.claims[token] = &claims
}

// forget drops a token whose claims no longer hold (it expired).
func (v *verifiedTokens) forget(token string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.claims, token)
}

// bearerToken extracts the token as contrib/jwt does for
// TokenLookup "header:Authorization" with AuthScheme "Bearer".
func bearerToken(c *fiber.Ctx) (string, bool) {
	auth := c.Get(fiber.HeaderAuthorization)
	const scheme = "Bearer "
	if len(auth) > len(scheme)+1 && strings.EqualFold(auth[:len(scheme)], scheme) {
		return strings.TrimSpace(auth[len(scheme):]), true
	}
	return "", false
}

// cached is contrib/jwt's Filter: it lets a request through without the
// full check when it carries a token that verified before and whose claims
// still hold now, and stores its subject as the request's user id.
func (v *Verifier) cached(c *fiber.Ctx) bool {
	token, ok := bearerToken(c)
	if !ok {
		return false
	}
	claims, ok := v.tokens.get(token)
	if !ok {
		return false
	}
	if v.validator.Validate(claims) != nil {
		// The full check answers with the right 401 (expired, say).
		v.tokens.forget(token)
		return false
	}
	setUser(c, claims)
	return true
}

// remember keeps a token that the full check just accepted, when it is an
// HS256 one (see verifiedTokens).
func (v *Verifier) remember(t *jwt.Token, claims *Claims) {
	if t.Method != jwt.SigningMethodHS256 || t.Raw == "" {
		return
	}
	// Raw may point into Fiber's request buffer, which is reused.
	v.tokens.put(strings.Clone(t.Raw), claims.RegisteredClaims)
}
