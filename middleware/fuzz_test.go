package middleware_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
	"todo-api/middleware"
	"todo-api/problem"
)

// The fuzz verifier is configured like production with Better Auth: an
// HS256 secret beside an EdDSA key found by kid, iss and aud required, a
// fixed clock. The seed corpus holds tokens signed with these exact keys.
const (
	fuzzSecret   = "fuzz-secret-0123456789abcdef0123456789"
	fuzzIssuer   = "http://localhost:3000"
	fuzzKid      = "fuzz-ed25519"
	fuzzLeeway   = 30 * time.Second
	fuzzPathUser = "alice"
)

var (
	fuzzNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	// fuzzKey is fixed so that the committed seeds stay valid.
	fuzzKey = ed25519.NewKeyFromSeed([]byte("todo-api fuzz key, not a secret!"))
)

func fuzzApp() *fiber.App {
	v := middleware.NewVerifier(config.Auth{
		Secret: []byte(fuzzSecret), Issuer: fuzzIssuer, Audience: fuzzIssuer, Leeway: fuzzLeeway,
	}, func() time.Time { return fuzzNow }).WithKeySource(func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid == fuzzKid {
			return fuzzKey.Public(), nil
		}
		return nil, errors.New("unknown kid")
	}, "EdDSA")
	app := fiber.New(fiber.Config{
		ErrorHandler:          problem.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))),
		ReadBufferSize:        16 * 1024, // as the server has it
		DisableStartupMessage: true,
	})
	app.Get("/api/:user_id/tasks", v.Authenticate(), middleware.RequirePathUser, func(c *fiber.Ctx) error {
		return c.SendString(middleware.UserID(c))
	})
	return app
}

// oracle verifies a token the way the service promises to, written
// independently of middleware.Verifier: HS256 with the secret, EdDSA with
// the key its kid names, nothing else; no crit header; header and payload
// objects without repeated members; registered claims only in lower case
// and of their JSON types; exp required; iss, aud; a sub that can be a user
// id.
func oracle(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !plainObject(parts[0], false) || !plainObject(parts[1], true) {
		return "", false
	}
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case "HS256":
			return []byte(fuzzSecret), nil
		case "EdDSA":
			if kid, _ := t.Header["kid"].(string); kid == fuzzKid {
				return fuzzKey.Public(), nil
			}
		}
		return nil, errors.New("no key")
	}, jwt.WithValidMethods([]string{"HS256", "EdDSA"}), jwt.WithExpirationRequired(), jwt.WithLeeway(fuzzLeeway),
		jwt.WithTimeFunc(func() time.Time { return fuzzNow }), jwt.WithIssuer(fuzzIssuer), jwt.WithAudience(fuzzIssuer))
	if err != nil || claims.Subject == "" || len(claims.Subject) > 255 {
		return "", false
	}
	if _, crit := tok.Header["crit"]; crit {
		return "", false
	}
	for _, r := range claims.Subject {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return "", false
		}
	}
	return claims.Subject, true
}

// plainObject reports whether the base64url segment seg is a JSON object
// that names no member twice and, for a payload, spells the registered
// claims only in lower case, with numbers for the times and strings (an
// array of them for aud) for the rest.
func plainObject(seg string, payload bool) bool {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return true // golang-jwt refuses it by itself
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return true
	}
	// A map keeps one value per name: count the names a second way.
	dec := json.NewDecoder(bytes.NewReader(raw))
	names, depth := 0, 0
	for {
		t, err := dec.Token()
		if err != nil {
			break
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		if _, isName := t.(string); isName && depth == 1 {
			names++
			// The value: skip it whole.
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return false
			}
		}
	}
	if names != len(m) {
		return false
	}
	if !payload {
		return true
	}
	for name, v := range m {
		lower := strings.ToLower(name)
		switch lower {
		case "sub", "exp", "nbf", "iat", "iss", "aud", "jti":
		default:
			continue
		}
		if name != lower {
			return false
		}
		switch name {
		case "exp", "nbf", "iat":
			var f float64
			if !strings.ContainsRune("-0123456789", rune(v[0])) || json.Unmarshal(v, &f) != nil {
				return false
			}
		case "aud":
			var one string
			var many []string
			if !(v[0] == '"' && json.Unmarshal(v, &one) == nil || v[0] == '[' && json.Unmarshal(v, &many) == nil) {
				return false
			}
		default:
			var s string
			if v[0] != '"' || json.Unmarshal(v, &s) != nil {
				return false
			}
		}
	}
	return true
}

// bearerToken is the token an Authorization header carries, by RFC 6750 as
// the service reads it: the scheme "Bearer" in any case, a space, the token;
// whitespace around the token does not count.
func bearerToken(header string) (string, bool) {
	const scheme = "bearer "
	if len(header) <= len(scheme)+1 || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(header[len(scheme):]), true
}

// FuzzBearer sends an arbitrary Authorization header. Properties: no panic,
// never a 5xx; 200 only for a token the oracle accepts, and then as the
// oracle's subject; every token the oracle accepts is accepted (401 never
// hides a bug in the other direction); every refusal is a problem, a 401
// with the Bearer challenge.
func FuzzBearer(f *testing.F) {
	app := fuzzApp()
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/api/"+fuzzPathUser+"/tasks", nil)
		req.Header.Set("Authorization", header)
		res, err := app.Test(req, -1)
		if err != nil && strings.Contains(err.Error(), "small read buffer") {
			return // over 16 KiB: the server answers 431 before any middleware
		}
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		// What reaches the server: net/http turns CR and LF into spaces
		// and the server trims the value.
		sent := strings.Trim(strings.NewReplacer("\r", " ", "\n", " ").Replace(header), " \t")
		tok, hasBearer := bearerToken(sent)
		sub, valid := oracle(tok)
		valid = valid && hasBearer
		switch res.StatusCode {
		case 200:
			if !valid || string(body) != sub {
				t.Fatalf("accepted %q as %q; the oracle says valid=%v sub=%q", header, body, valid, sub)
			}
		case 403:
			if !valid || sub == fuzzPathUser {
				t.Fatalf("403 for %q; the oracle says valid=%v sub=%q", header, valid, sub)
			}
		case 401:
			if valid {
				t.Fatalf("refused %q, which the oracle accepts for %q: %s", header, sub, body)
			}
			if res.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Fatalf("401 without the Bearer challenge: %v", res.Header)
			}
		case 400, 431:
			// The HTTP layer refused the header itself.
		default:
			t.Fatalf("%q answered %d: %s", header, res.StatusCode, body)
		}
		if res.StatusCode != 200 {
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if res.Header.Get("Content-Type") != problem.ContentType || json.Unmarshal(body, &p) != nil || p.Status != res.StatusCode || p.Detail == "" {
				t.Fatalf("%d is not a problem: %s", res.StatusCode, body)
			}
		}
	})
}
