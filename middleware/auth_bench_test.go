package middleware_test

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"todo-api/config"
	"todo-api/internal/benchcpu"
	"todo-api/middleware"
)

// BenchmarkAuthenticate runs a request with a valid HS256 token (the
// benchmark's kind) through the token check, the path-user check and an empty
// handler: what every /api request pays before its handler.
func BenchmarkAuthenticate(b *testing.B) {
	now := time.Now()
	cfg := config.Auth{Secret: []byte("bench-secret-0123456789abcdef0123456789"), Leeway: 30 * time.Second}
	token, err := middleware.Sign(cfg, "user-0001", now, 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	v := middleware.NewVerifier(cfg, func() time.Time { return now })
	app := fiber.New()
	api := app.Group("/api", v.Authenticate())
	api.Get("/:user_id/tasks", middleware.RequirePathUser, func(c *fiber.Ctx) error {
		if middleware.UserID(c) != "user-0001" {
			return fiber.ErrUnauthorized
		}
		return c.SendStatus(fiber.StatusOK)
	})
	handler := app.Handler()
	var fctx fasthttp.RequestCtx
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		fctx.Request.Reset()
		fctx.Response.Reset()
		fctx.Request.Header.SetMethod(fiber.MethodGet)
		fctx.Request.SetRequestURI("/api/user-0001/tasks?limit=50")
		fctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
		handler(&fctx)
		if fctx.Response.StatusCode() != fiber.StatusOK {
			b.Fatalf("status %d: %s", fctx.Response.StatusCode(), fctx.Response.Body())
		}
	}
}
