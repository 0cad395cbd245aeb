// Package server assembles the Fiber application: settings, middleware,
// routes and the error handler. main runs it; the tests drive it.
package server

import (
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"gorm.io/gorm"

	"todo-api/config"
	"todo-api/controllers"
	"todo-api/database"
	"todo-api/docs"
	"todo-api/events"
	"todo-api/metrics"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
	"todo-api/ratelimit"
)

// HeaderLimit bounds the request line and headers (431 above it).
const HeaderLimit = 16 * 1024

// Deps is what the application needs from main.
type Deps struct {
	Config config.Config
	DB     *gorm.DB
	Log    *slog.Logger
	Clock  models.Clock
	// Verifier checks bearer tokens; main builds it from Config.Auth and
	// plugs in further key sources (JWKS) when configured.
	Verifier *middleware.Verifier
	// Metrics records every request and is served at /metrics unless
	// Config.MetricsAddr moves it elsewhere; nil turns both off.
	Metrics *metrics.Registry
	// Readiness lists what /readyz checks besides the database (the key
	// set, say).
	Readiness []ReadinessCheck
	// Drain, when set, is what main shuts the server down with; it ends
	// the event streams first.
	Drain *Drain
	// Store is the one write door of the instance: the handlers and
	// main's reminder scheduler share it, so that on SQLite their writes
	// join one group commit. nil: New opens one on DB.
	Store *database.Store
	// Events is the hub the event streams wait on; whoever passes it wires
	// what wakes it (main: Store.OnCommit on SQLite, database.Listen on
	// PostgreSQL). nil: New makes one that Store wakes after each commit,
	// which reaches the streams of this instance only (tests).
	Events *events.Hub
}

// New builds the application.
func New(d Deps) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:           "todo-api",
		ErrorHandler:      problem.Handler(d.Log, classifyDatabase),
		BodyLimit:         BodyLimit,
		StreamRequestBody: true, // see body.go
		ReadBufferSize:    HeaderLimit,
		// A connection gives its read buffer (HeaderLimit) back between
		// requests instead of holding it: an event stream is a connection
		// that never reads again, and an idle keep-alive connection may not
		// for a while (bench/README.md, "Event streams").
		ReduceMemoryUsage: true,
		ReadTimeout:       orDefault(d.Config.HTTP.ReadTimeout, 10*time.Second),
		WriteTimeout:      orDefault(d.Config.HTTP.WriteTimeout, 30*time.Second),
		IdleTimeout:       orDefault(d.Config.HTTP.IdleTimeout, 30*time.Second),
		CaseSensitive:     true,
		// Paths are routed as sent and {user_id} is percent-decoded by
		// RequirePathUser alone: Fiber's UnescapePath decodes "+" as a space
		// (query-string rules), so the user "john+tag@example.com" could not
		// reach its own Location.
		UnescapePath:          false,
		DisableStartupMessage: true,
	})

	if d.Drain != nil {
		app.Use(d.Drain.track)
	}
	app.Use(middleware.RequestID)
	app.Use(middleware.AccessLog(d.Log, d.Metrics))
	// A panicking handler becomes a logged 500 instead of a dead process.
	app.Use(recover.New())
	app.Use(cors.New(cors.Config{
		AllowOrigins:  strings.Join(d.Config.CORSOrigins, ","),
		AllowMethods:  strings.Join(docs.CORS().Methods, ","), // one list with the document's CORS section
		AllowHeaders:  strings.Join(docs.CORS().AllowHeaders, ","),
		ExposeHeaders: strings.Join(docs.CORS().ExposeHeaders, ","),
		MaxAge:        600,
	}))
	// After CORS, so that a browser may read the 413 or 415.
	app.Use(limitBody)
	if t := d.Config.Database.Timeout; t > 0 {
		app.Use(middleware.Deadline(t))
	}
	perUser := func(c *fiber.Ctx) error { return c.Next() }
	if rl := d.Config.RateLimit; rl.PerMinute > 0 {
		// Not Fiber's ProxyHeader, whose c.IP() is the left-most entry of
		// X-Forwarded-For: the one the client wrote itself.
		client := middleware.ClientAddress{Header: d.Config.HTTP.ProxyHeader, Hops: d.Config.HTTP.ProxyHops}
		limits := middleware.NewRateLimit(ratelimit.New(rl.PerMinute, rl.Burst, d.Clock), ratelimit.New(rl.PerMinute, rl.Burst, d.Clock),
			client, d.Metrics, "/healthz", "/readyz", "/metrics")
		app.Use(limits.Anonymous)
		perUser = limits.PerUser
	}

	app.Get("/healthz", healthz)
	app.Get("/readyz", readyz(d.Log, append([]ReadinessCheck{DatabaseCheck(d.DB)}, d.Readiness...)))
	if d.Metrics != nil && d.Config.MetricsAddr == "" {
		app.Get("/metrics", adaptor.HTTPHandler(d.Metrics.Handler()))
	}

	docs.Mount(app) // GET /openapi.json, /docs and the page's files

	// One Store for every handler: on SQLite its group commit batches
	// the writes of lists and tasks alike.
	store := d.Store
	if store == nil {
		store = database.NewStore(d.DB)
	}
	tasks := controllers.NewTasks(store, controllers.NewValidator(), d.Clock, d.Config.Database.Quotas)
	hub := d.Events
	if hub == nil {
		hub = events.NewHub(orDefaultInt(d.Config.Events.PerUser, config.DefaultEventsPerUser), orDefaultInt(d.Config.Events.Max, config.DefaultEventsMax))
		store.OnCommit(hub.Notify)
	}
	if d.Drain != nil {
		d.Drain.onDrain(hub.Close)
	}
	stream := controllers.NewEvents(tasks, hub, d.Clock, controllers.EventsOptions{
		Heartbeat:   orDefault(d.Config.Events.Heartbeat, config.DefaultEventsHeartbeat),
		SlowReader:  orDefault(d.Config.Events.SlowReader, config.DefaultEventsSlowReader),
		ReadTimeout: orDefault(d.Config.Database.Timeout, 5*time.Second),
		Log:         d.Log,
	})
	f := d.Config.InFlight
	inFlight := middleware.NewInFlight(f.PerUser, f.CostlyPerUser, f.Wait, database.Costly, d.Metrics)
	api := app.Group("/api")
	lists := controllers.NewLists(store, d.Clock, maxLists(d.Config))
	paths := api.Group("/:user_id")
	// The in-flight cap after the rate limit and before the body is read:
	// a refused request reads nothing.
	user := guard(paths, d.Verifier.Authenticate(), perUser, inFlight.Cheap, readBody, middleware.RequirePathUser)
	costly := guard(paths, d.Verifier.Authenticate(), perUser, inFlight.Costly, readBody, middleware.RequirePathUser)
	apiRoutes(user, costly, tasks, lists)
	// The stream outlives its handler: no request deadline or in-flight
	// slot holds it (controllers/events.go). Not among apiRoutes: MCP
	// answers one request at a time.
	guard(paths, d.Verifier.Authenticate(), perUser, readBody, middleware.RequirePathUser).Get("/events", stream.Stream)
	mountAgents(app, d, perUser, inFlight, tasks, lists)
	// A path below /api that no route matches meets the same checks before
	// its 404 or 405.
	api.Use(d.Verifier.Authenticate(), perUser)
	api.Use("/:user_id", middleware.RequirePathUser)

	answerUnknownMethods(app, d.Log, d.Metrics)
	app.Server().Handler = finishBody(app.Server().Handler)
	return app
}

// apiRoutes registers the task and list handlers below /api/{user_id}: on
// the app, and on the copy the MCP tools send their requests to
// (mountAgents), so that both serve the same routes. costly is the chain
// of the reads that may scan all of a user's tasks (the in-flight cap's
// smaller share).
func apiRoutes(user, costly guarded, tasks *controllers.Tasks, lists *controllers.Lists) {
	costly.Get("/tasks", tasks.List)
	user.Post("/tasks", tasks.Create)
	costly.Delete("/tasks", tasks.ClearCompleted)
	// Before /tasks/:id, which would otherwise take "stats" for an id.
	costly.Get("/tasks/stats", tasks.Stats)
	user.Get("/tasks/changes", tasks.Changes)
	user.Get("/tasks/:id", tasks.Get)
	user.Put("/tasks/:id", tasks.Replace)
	user.Patch("/tasks/:id", tasks.Patch)
	user.Delete("/tasks/:id", tasks.Delete)
	user.Patch("/tasks/:id/toggle", tasks.Toggle)
	user.Patch("/tasks/:id/complete", tasks.Toggle)
	user.Post("/tasks/:id/move", tasks.Move)
	costly.Get("/lists", lists.Index)
	user.Post("/lists", lists.Create)
	user.Get("/lists/:id", lists.Get)
	user.Patch("/lists/:id", lists.Patch)
	user.Delete("/lists/:id", lists.Delete)
	user.Post("/lists/:id/move", lists.Move)
}

// maxLists is MAX_LISTS_PER_USER, or its default in a Config that tests
// build by hand.
func maxLists(c config.Config) int {
	if c.MaxListsPerUser > 0 {
		return c.MaxListsPerUser
	}
	return config.DefaultMaxListsPerUser
}

// orDefaultInt is n, or def when n is unset.
func orDefaultInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// orDefault is d, or def when d is unset (tests build Config by hand).
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
