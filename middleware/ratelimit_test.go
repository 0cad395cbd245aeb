package middleware

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"todo-api/config"
	"todo-api/problem"
	"todo-api/ratelimit"
)

// TestAnonymousFloodKeepsUsersLimited: users and addresses have buckets of
// their own, so a flood of anonymous requests from thousands of addresses,
// each exhausting its bucket, gives a limited user no fresh burst, however
// small the limiters' bounds.
func TestAnonymousFloodKeepsUsersLimited(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now } // frozen: nothing refills
	cfg := config.Auth{Secret: []byte("test-secret-0123456789abcdef0123456789"), Leeway: 30 * time.Second}
	bound := 64 // one bucket a shard
	rl := NewRateLimit(ratelimit.NewBounded(60, 3, bound, clock), ratelimit.NewBounded(60, 3, bound, clock),
		ClientAddress{Header: "X-Forwarded-For", Hops: 1}, nil)
	app := fiber.New(fiber.Config{ErrorHandler: problem.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	app.Use(rl.Anonymous)
	app.Get("/me", NewVerifier(cfg, clock).Authenticate(), rl.PerUser, func(c *fiber.Ctx) error { return c.SendString(UserID(c)) })
	call := func(token, forwarded string) int {
		t.Helper()
		req := httptest.NewRequest("GET", "/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("X-Forwarded-For", forwarded)
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	token := func(user string) string {
		s, err := Sign(cfg, user, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	alice, bob := token("alice"), token("bob")
	for i, want := range []int{200, 200, 200, 429} {
		if got := call(alice, "192.0.2.1"); got != want {
			t.Fatalf("alice's request %d: %d, want %d", i, got, want)
		}
	}
	for i := range 2000 {
		addr := fmt.Sprintf("198.51.%d.%d", i/250, i%250)
		for range 4 {
			call("", addr)
		}
	}
	if got := call(alice, "192.0.2.1"); got != 429 {
		t.Errorf("after the flood alice got %d, want 429: a fresh burst", got)
	}
	if got := call(bob, "192.0.2.1"); got != 200 {
		t.Errorf("bob: %d", got)
	}
}
