// Package server assembles the Fiber application: settings, middleware,
// routes and the error handler. main runs it; the tests drive it.
package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/controllers"
	"todo-api/database"
	"todo-api/docs"
	"todo-api/middleware"
	"todo-api/problem"
)

// BodyLimit is the largest request body accepted (413 above it).
const BodyLimit = 64 * 1024

// readLimit is where the HTTP server itself stops reading a body. Bodies
// between BodyLimit and readLimit are read in full and refused by
// limitBody, so the client reliably receives the 413; above readLimit the
// server answers 413 and closes the connection unread, which a client still
// sending may see as a connection reset.
const readLimit = 1024 * 1024

// Deps is what the application needs from main.
type Deps struct {
	Config config.Config
	DB     *gorm.DB
	Log    *slog.Logger
	Clock  database.Clock
	// Verifier checks bearer tokens; main builds it from Config.Auth and
	// plugs in further key sources (JWKS) when configured.
	Verifier *middleware.Verifier
	// KeysReady says why the verification keys cannot serve yet (the JWKS
	// never loaded), or nil when they can; nil means no such check.
	KeysReady func() error
}

// New builds the application.
func New(d Deps) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "todo-api",
		ErrorHandler:          problem.Handler(d.Log, database.Classify),
		BodyLimit:             readLimit,
		ReadBufferSize:        16 * 1024, // bounds the request headers: 431 above it
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		CaseSensitive:         true,
		UnescapePath:          true, // so /api/a%7Cb/tasks matches the user "a|b"
		DisableStartupMessage: true,
	})

	app.Use(middleware.RequestID)
	app.Use(middleware.AccessLog(d.Log))
	app.Use(limitBody)
	app.Use(cors.New(cors.Config{
		AllowOrigins:  strings.Join(d.Config.CORSOrigins, ","),
		AllowMethods:  "GET,POST,PUT,PATCH,DELETE,OPTIONS",
		AllowHeaders:  "Authorization,Content-Type,If-Match,If-None-Match,Idempotency-Key",
		ExposeHeaders: "ETag,Location,X-Total-Count,Link,X-Request-ID,Retry-After,Idempotent-Replayed",
		MaxAge:        600,
	}))

	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := database.Ping(ctx, d.DB); err != nil {
			return problem.Unavailable("database: " + pingFailure(err))
		}
		if d.KeysReady != nil {
			if err := d.KeysReady(); err != nil {
				return problem.Unavailable("token keys (JWKS): " + err.Error() +
					"; tokens signed by Better Auth are refused until it loads")
			}
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})

	docs.Mount(app) // GET /openapi.json, /docs and the page's files

	tasks := controllers.NewTasks(database.NewStore(d.DB), controllers.NewValidator(), d.Clock)
	api := app.Group("/api", d.Verifier.Authenticate())
	user := api.Group("/:user_id", middleware.RequirePathUser)
	user.Get("/tasks", tasks.List)
	user.Post("/tasks", tasks.Create)
	user.Delete("/tasks", tasks.ClearCompleted)
	// Before /tasks/:id, which would otherwise take "stats" for an id.
	user.Get("/tasks/stats", tasks.Stats)
	user.Get("/tasks/:id", tasks.Get)
	user.Put("/tasks/:id", tasks.Replace)
	user.Patch("/tasks/:id", tasks.Patch)
	user.Delete("/tasks/:id", tasks.Delete)
	user.Patch("/tasks/:id/toggle", tasks.Toggle)
	user.Patch("/tasks/:id/complete", tasks.Toggle)

	return app
}

// limitBody refuses bodies over BodyLimit; see readLimit.
func limitBody(c *fiber.Ctx) error {
	if len(c.Request().Body()) > BodyLimit {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// pingFailure says why the database did not answer without repeating the
// driver's text, which may hold host names.
func pingFailure(err error) string {
	if database.Unavailable(err) {
		return "not reachable"
	}
	return "ping failed"
}
