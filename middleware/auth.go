// Package middleware holds the request pipeline pieces that run before the
// controllers: token verification, the path-user check, request ids, access logs.
package middleware

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/problem"
)

// Claims is the token payload todo-api reads. Its time getters hide exp, nbf
// and iat from golang-jwt's built-in validator, which contrib/jwt runs with
// the wall clock and no leeway; Verifier checks the same claims through the
// embedded RegisteredClaims with the configured clock and leeway instead.
type Claims struct {
	jwt.RegisteredClaims
}

// GetExpirationTime hides exp from contrib/jwt's fixed validator (see Claims).
func (Claims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }

// GetNotBefore hides nbf from contrib/jwt's fixed validator (see Claims).
func (Claims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }

// GetIssuedAt hides iat from contrib/jwt's fixed validator (see Claims).
func (Claims) GetIssuedAt() (*jwt.NumericDate, error) { return nil, nil }

// KeySource returns the verification key for an asymmetric token (a JWKS
// lookup by kid); it is plugged into the Verifier when configured.
type KeySource func(*jwt.Token) (any, error)

// Verifier decides which key may verify a token and whether its claims hold.
// The algorithm is pinned per key source: HS256 tokens only ever meet the
// shared secret, asymmetric tokens only the key set, so neither can be used
// to forge the other (no key confusion), and "none" is never accepted.
type Verifier struct {
	cfg        config.Auth
	clock      func() time.Time
	secret     []byte
	asymmetric KeySource
	asymAlgs   map[string]bool
	asymList   []string // asymAlgs in the configured order, for details
	validator  *jwt.Validator
	tokens     *verifiedTokens
	// explain makes a 401's detail name the failed check.
	explain bool
}

// NewVerifier builds a Verifier from the auth configuration.
func NewVerifier(cfg config.Auth, clock func() time.Time) *Verifier {
	opts := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(clock),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{cfg: cfg, clock: clock, secret: cfg.Secret, validator: jwt.NewValidator(opts...),
		tokens: newVerifiedTokens(), explain: cfg.ExplainRefusals}
}

// WithKeySource accepts tokens signed with one of algs, verified by keys.
func (v *Verifier) WithKeySource(keys KeySource, algs ...string) *Verifier {
	v.asymmetric = keys
	v.asymAlgs = make(map[string]bool, len(algs))
	v.asymList = append([]string(nil), algs...)
	for _, a := range algs {
		v.asymAlgs[a] = true
	}
	return v
}

// keyfunc is the jwt.Keyfunc handed to contrib/jwt. golang-jwt calls it
// after decoding (Claims.UnmarshalJSON has refused ambiguous payloads by
// then) and before checking the signature. It picks the key by the pinned
// algorithm; the claims are checked after the signature (Authenticate), so
// that a forged token is refused as forged, whatever its claims say.
func (v *Verifier) keyfunc(t *jwt.Token) (any, error) {
	if err := checkHeader(t); err != nil {
		return nil, err
	}
	alg := t.Method.Alg()
	switch {
	case alg == jwt.SigningMethodHS256.Alg() && v.secret != nil:
		return v.secret, nil
	case v.asymmetric != nil && v.asymAlgs[alg]:
		key, err := v.asymmetric(t)
		if err != nil {
			var r *Refusal
			var kr keyRefusal
			if !errors.As(err, &r) && !errors.As(err, &kr) {
				err = refuse(CodeKeyUnavailable, "No key verifies the token ("+err.Error()+").")
			}
			return nil, err
		}
		return key, nil
	}
	return nil, refuse(CodeAlgorithm, fmt.Sprintf("The token's algorithm %q is not allowed; this API accepts %s.", clip(alg), v.accepted()))
}

// Sign mints an HS256 token for userID that lives ttl, with the configured
// secret; used by the `token` sub-command and the development demo token.
func Sign(cfg config.Auth, userID string, now time.Time, ttl time.Duration) (string, error) {
	if cfg.Secret == nil {
		return "", errors.New("BETTER_AUTH_SECRET is not set, so there is no secret to sign with")
	}
	claims := jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if cfg.Issuer != "" {
		claims.Issuer = cfg.Issuer
	}
	if cfg.Audience != "" {
		claims.Audience = jwt.ClaimStrings{cfg.Audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(cfg.Secret)
}

type userIDKey struct{}

// Authenticate verifies the bearer token with contrib/jwt and stores its
// subject as the request's user id. Every failure, a missing header
// included, is a 401 problem with WWW-Authenticate (RFC 6750) whose reason
// code goes to the access log (authreason.go).
func (v *Verifier) Authenticate() fiber.Handler {
	return jwtware.New(jwtware.Config{
		// A token that passed this check before skips it (tokencache.go).
		Filter:      v.cached,
		KeyFunc:     v.keyfunc,
		Claims:      &Claims{},
		TokenLookup: "header:" + fiber.HeaderAuthorization,
		AuthScheme:  "Bearer",
		SuccessHandler: func(c *fiber.Ctx) error {
			token, _ := c.Locals("user").(*jwt.Token)
			claims, _ := token.Claims.(*Claims)
			if claims == nil {
				return v.refused(c, refuse(CodeInvalid, "The token's claims could not be read."))
			}
			if r := v.checkClaims(&claims.RegisteredClaims); r != nil {
				return v.refused(c, r)
			}
			setUser(c, &claims.RegisteredClaims)
			v.remember(token, claims)
			return c.Next()
		},
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			return v.refused(c, v.classify(c, err))
		},
	})
}

type expiryKey struct{}

// setUser stores the checked claims' subject and expiry for the request.
func setUser(c *fiber.Ctx, claims *jwt.RegisteredClaims) {
	c.Locals(userIDKey{}, claims.Subject)
	if claims.ExpiresAt != nil {
		c.Locals(expiryKey{}, claims.ExpiresAt.Time)
	}
}

// TokenExpiry is when the request's token expires (its exp); the zero time
// outside authenticated routes. An event stream ends then.
func TokenExpiry(c *fiber.Ctx) time.Time {
	exp, _ := c.Locals(expiryKey{}).(time.Time)
	return exp
}

// UserID is the authenticated user's id; empty outside authenticated routes,
// which the task scope refuses.
func UserID(c *fiber.Ctx) string {
	id, _ := c.Locals(userIDKey{}).(string)
	return id
}

// PathMe is the {user_id} that names the token's own user, so that a
// client or an agent need not know its id: /api/me/tasks is the caller's
// tasks. A user whose id is literally "me" is served by it all the same.
const PathMe = "me"

// RequirePathUser answers 403 when the {user_id} in the path is neither the
// token's subject nor PathMe, before any handler touches the database.
// Handlers never read {user_id}: the owner is always UserID, so "me" and
// the explicit id answer alike, Location and Link included (they name the id).
//
// The segment is percent-decoded by path rules (RFC 3986: "+" is a plus, not
// a space), so every id round-trips through the Location the API sends, an
// id with "/" in it (sent as %2F) included.
func RequirePathUser(c *fiber.Ctx) error {
	p, err := url.PathUnescape(c.Params("user_id"))
	if err != nil || (p != UserID(c) && p != PathMe) {
		return problem.Forbidden("This token belongs to another user; use your own user id in the path.")
	}
	return c.Next()
}
