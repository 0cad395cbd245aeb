package middleware_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
// the key its kid names, nothing else; exp required; iss, aud; a sub.
func oracle(token string) (string, bool) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
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
	if err != nil || claims.Subject == "" {
		return "", false
	}
	return claims.Subject, true
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
