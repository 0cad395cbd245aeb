package middleware

import (
	"encoding/base64"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"todo-api/config"
)

// TestVerifiedTokenCache: a token that verified once skips the full check,
// yet its expiry is still enforced on every request with the verifier's
// clock and leeway, and only HS256 tokens are kept.
func TestVerifiedTokenCache(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := config.Auth{Secret: []byte("test-secret-0123456789abcdef0123456789"), Leeway: 30 * time.Second}
	v := NewVerifier(cfg, clock)
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(fiber.StatusUnauthorized).SendString(err.Error())
	}})
	app.Get("/me", v.Authenticate(), func(c *fiber.Ctx) error { return c.SendString(UserID(c)) })
	call := func(token string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "bearer  "+token) // scheme case and spaces as contrib/jwt allows
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 256)
		n, _ := res.Body.Read(b)
		return res.StatusCode, string(b[:n])
	}

	token, err := Sign(cfg, "alice", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := call(token); st != 200 || body != "alice" {
		t.Fatalf("first request: %d %q", st, body)
	}
	if _, ok := v.tokens.get(token); !ok {
		t.Fatal("a verified HS256 token was not remembered")
	}
	if st, body := call(token); st != 200 || body != "alice" {
		t.Fatalf("cached request: %d %q", st, body)
	}
	// A token that differs in one character is not the cached one.
	tampered := token[:len(token)-2] + string("AB"[len(token)%2]) + token[len(token)-1:]
	if st, _ := call(tampered); st != 401 {
		t.Errorf("tampered token: %d", st)
	}

	// Within the leeway after exp it still passes; past it, it is refused
	// although it is cached, and it leaves the cache.
	mu.Lock()
	now = now.Add(time.Minute + 20*time.Second)
	mu.Unlock()
	if st, _ := call(token); st != 200 {
		t.Errorf("within the leeway: %d", st)
	}
	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	if st, body := call(token); st != 401 {
		t.Errorf("expired but cached token: %d %q", st, body)
	}
	if _, ok := v.tokens.get(token); ok {
		t.Error("an expired token stayed in the cache")
	}

	// Tokens checked against the key set are never kept.
	v.remember(&jwt.Token{Raw: "x.y.z", Method: jwt.SigningMethodRS256}, &Claims{})
	if _, ok := v.tokens.get("x.y.z"); ok {
		t.Error("an RS256 token was remembered")
	}
}

// TestVerifiedTokenCacheBound: the cache never holds more than its bound.
func TestVerifiedTokenCacheBound(t *testing.T) {
	c := newVerifiedTokens()
	for i := 0; i <= maxVerifiedTokens+10; i++ {
		c.put("t"+strconv.Itoa(i), jwt.RegisteredClaims{Subject: "u"})
	}
	if n := len(c.claims); n > maxVerifiedTokens {
		t.Fatalf("%d tokens cached", n)
	}
}

// TestCacheKeepsNoRefusedShape: a token refused for its shape is refused
// again on every later request and never enters the cache, also right after
// a well-formed token of the same user was cached.
func TestCacheKeepsNoRefusedShape(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cfg := config.Auth{Secret: []byte("test-secret-0123456789abcdef0123456789"), Leeway: 30 * time.Second}
	v := NewVerifier(cfg, func() time.Time { return now })
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(fiber.StatusUnauthorized).SendString(RefusalCode(c))
	}})
	app.Get("/me", v.Authenticate(), func(c *fiber.Ctx) error { return c.SendString(UserID(c)) })
	call := func(token string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 256)
		n, _ := res.Body.Read(b)
		return res.StatusCode, string(b[:n])
	}
	sign := func(header, payload string) string {
		enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		sig, err := jwt.SigningMethodHS256.Sign(enc(header)+"."+enc(payload), cfg.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return enc(header) + "." + enc(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	plain := `{"alg":"HS256","typ":"JWT"}`
	good, err := Sign(cfg, "alice", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := call(good); st != 200 || body != "alice" {
		t.Fatalf("well-formed token: %d %q", st, body)
	}
	cases := []struct{ name, header, payload, code string }{
		{"Sub beside sub", plain, `{"sub":"alice","Sub":"bob","exp":` + exp + `}`, CodeClaimCaseVariant},
		{"sub twice", plain, `{"sub":"alice","sub":"bob","exp":` + exp + `}`, CodeClaimDuplicate},
		{"exp as a string", plain, `{"sub":"alice","exp":"` + exp + `"}`, CodeClaimType},
		{"crit", `{"alg":"HS256","crit":["x"],"x":1}`, `{"sub":"alice","exp":` + exp + `}`, CodeCritUnsupported},
		{"sub with NUL", plain, `{"sub":"ali\u0000ce","exp":` + exp + `}`, CodeSubjectUnusable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := sign(tc.header, tc.payload)
			for i := range 2 {
				if st, code := call(tok); st != 401 || code != tc.code {
					t.Fatalf("request %d: %d %q, want 401 %q", i+1, st, code, tc.code)
				}
			}
			if _, ok := v.tokens.get(tok); ok {
				t.Error("a refused token entered the cache")
			}
		})
	}
}
