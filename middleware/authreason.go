package middleware

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"todo-api/problem"
)

// Reason codes: why a token was refused, one short stable string each, in
// the access log of every 401 (never the token itself). Key sources use the
// same strings for their own refusals (jwks: kid_missing, kid_unknown,
// key_mismatch, jwks_unavailable).
const (
	CodeMissing          = "token_missing"
	CodeMalformed        = "token_malformed"
	CodeClaimDuplicate   = "claim_duplicate"
	CodeClaimCaseVariant = "claim_case_variant"
	CodeClaimType        = "claim_type"
	CodeCritUnsupported  = "crit_unsupported"
	CodeAlgorithm        = "algorithm_not_allowed"
	CodeSignature        = "signature_invalid"
	CodeExpMissing       = "exp_missing"
	CodeExpired          = "expired"
	CodeNotYetValid      = "not_yet_valid"
	CodeIssuerMissing    = "issuer_missing"
	CodeIssuerMismatch   = "issuer_mismatch"
	CodeAudienceMissing  = "audience_missing"
	CodeAudienceMismatch = "audience_mismatch"
	CodeSubjectMissing   = "subject_missing"
	CodeSubjectUnusable  = "subject_unusable"
	CodeKeyUnavailable   = "key_unavailable" // a key source refused without saying why
	CodeInvalid          = "token_invalid"   // none of the above
)

// Refusal is why a token was refused: Code for the log, Detail in words
// that name the failed check, for the problem's detail in development.
type Refusal struct {
	Code   string
	Detail string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Detail }

func refuse(code, detail string) *Refusal { return &Refusal{Code: code, Detail: detail} }

// keyRefusal is what a KeySource's errors may implement to give their own
// reason code and detail (the jwks package does).
type keyRefusal interface {
	TokenRefusal() (code, detail string)
}

type refusalKey struct{}

// RefusalCode is the reason code of the request's 401, or "" when its token
// was not refused; the access log records it.
func RefusalCode(c *fiber.Ctx) string {
	code, _ := c.Locals(refusalKey{}).(string)
	return code
}

// refused answers a refused token: the detail names the failed check when
// the verifier explains refusals (development), else it stays generic, so
// that production tells a prober nothing about its configuration.
func (v *Verifier) refused(c *fiber.Ctx, r *Refusal) error {
	c.Locals(refusalKey{}, r.Code)
	if v.explain {
		return problem.Unauthorized(r.Detail)
	}
	switch r.Code {
	case CodeMissing:
		return problem.Unauthorized("Send a token in the Authorization header, as: Bearer followed by the token.")
	case CodeExpired:
		return problem.Unauthorized("The token has expired; get a fresh one and retry.")
	}
	return problem.Unauthorized("The bearer token is not valid.")
}

// classify turns an error from contrib/jwt or golang-jwt into a Refusal.
func (v *Verifier) classify(c *fiber.Ctx, err error) *Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	var kr keyRefusal
	if errors.As(err, &kr) {
		code, detail := kr.TokenRefusal()
		return refuse(code, detail)
	}
	switch {
	case errors.Is(err, jwtware.ErrJWTMissingOrMalformed):
		return refuse(CodeMissing, "The request has no bearer token: send the header Authorization: Bearer <token>.")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refuse(CodeMalformed, "The token is malformed: a JWT is three base64url parts, a JSON header and a JSON payload, joined by dots ("+err.Error()+").")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse(CodeSignature, "The token's signature does not verify: it was signed with another secret or key, or changed after signing.")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// golang-jwt knows no such algorithm ("None", "", a number).
		return refuse(CodeAlgorithm, fmt.Sprintf("The token's algorithm %s is not allowed; this API accepts %s.", headerAlg(c), v.accepted()))
	}
	return refuse(CodeInvalid, "The token is not valid ("+err.Error()+").")
}

// checkClaims validates the claims of a token whose signature verified:
// the times with the configured clock and leeway, iss, aud, and a sub that
// can be a user id.
func (v *Verifier) checkClaims(claims *jwt.RegisteredClaims) *Refusal {
	if err := v.validator.Validate(claims); err != nil {
		return v.claimsRefusal(claims, err)
	}
	if claims.Subject == "" {
		return refuse(CodeSubjectMissing, "The token has no sub claim, the user id.")
	}
	if why := unusableSubject(claims.Subject); why != "" {
		return refuse(CodeSubjectUnusable, "The token's sub claim cannot be a user id: "+why+".")
	}
	return nil
}

// claimsRefusal says which check of golang-jwt's validator failed; it
// reports all of them at once, and the first in this order is named.
func (v *Verifier) claimsRefusal(c *jwt.RegisteredClaims, err error) *Refusal {
	now := v.clock()
	at := func(d *jwt.NumericDate) string { return d.UTC().Format(time.RFC3339) }
	switch {
	case c.ExpiresAt == nil:
		return refuse(CodeExpMissing, "The token has no exp claim; an expiry is required.")
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse(CodeExpired, fmt.Sprintf("The token expired at %s (it is now %s; leeway %s); get a fresh one.", at(c.ExpiresAt), now.UTC().Format(time.RFC3339), v.cfg.Leeway))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse(CodeNotYetValid, fmt.Sprintf("The token is not valid until %s (nbf; it is now %s; leeway %s): check the clocks.", at(c.NotBefore), now.UTC().Format(time.RFC3339), v.cfg.Leeway))
	case v.cfg.Issuer != "" && c.Issuer == "":
		return refuse(CodeIssuerMissing, fmt.Sprintf("The token has no iss claim; the issuer %q is expected (JWT_ISSUER, by default BETTER_AUTH_URL).", v.cfg.Issuer))
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refuse(CodeIssuerMismatch, fmt.Sprintf("The token's issuer %q is not the expected %q (JWT_ISSUER, by default BETTER_AUTH_URL): scheme, host, port and path must match exactly.", clip(c.Issuer), v.cfg.Issuer))
	case v.cfg.Audience != "" && (len(c.Audience) == 0 || len(c.Audience) == 1 && c.Audience[0] == ""):
		return refuse(CodeAudienceMissing, fmt.Sprintf("The token has no aud claim; the audience %q is expected (JWT_AUDIENCE, by default BETTER_AUTH_URL).", v.cfg.Audience))
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return refuse(CodeAudienceMismatch, fmt.Sprintf("The token's audience %s does not include the expected %q (JWT_AUDIENCE, by default BETTER_AUTH_URL).", clip(quoteAll(c.Audience)), v.cfg.Audience))
	}
	return refuse(CodeInvalid, "The token's claims do not hold ("+err.Error()+").")
}

// accepted lists the algorithms the verifier takes, for a refusal's detail.
func (v *Verifier) accepted() string {
	var algs []string
	if v.secret != nil {
		algs = append(algs, "HS256 (BETTER_AUTH_SECRET)")
	}
	if len(v.asymList) > 0 {
		algs = append(algs, strings.Join(v.asymList, ", ")+" (the Better Auth key set)")
	}
	if len(algs) == 0 {
		return "none"
	}
	return strings.Join(algs, " and ")
}

// headerAlg is the alg the request's token header names, quoted, for a
// refusal's detail.
func headerAlg(c *fiber.Ctx) string {
	tok, _ := bearerToken(c)
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	var h struct {
		Alg any `json:"alg"`
	}
	if err != nil || json.Unmarshal(raw, &h) != nil || h.Alg == nil {
		return "(none given)"
	}
	b, _ := json.Marshal(h.Alg)
	return clip(string(b))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
