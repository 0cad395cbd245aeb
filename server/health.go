package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/database"
	"todo-api/problem"
)

// ReadyTimeout bounds one /readyz answer: a platform probing readiness
// wants a quick no rather than a slow one.
const ReadyTimeout = 2 * time.Second

// ReadinessCheck is one dependency /readyz asks about. Check returns nil when
// the dependency can serve; its error is logged, and only Name is shown to
// the client, since errors may carry host names — unless PublicReason says
// the check words its errors for the public (the key set's do).
type ReadinessCheck struct {
	Name         string
	Check        func(ctx context.Context) error
	PublicReason bool
}

// KeySetCheck reports whether the Better Auth key set has loaded; ready is
// jwks.Set.Ready, whose errors say why not without addresses.
func KeySetCheck(ready func() error) ReadinessCheck {
	return ReadinessCheck{Name: "JWKS", PublicReason: true, Check: func(context.Context) error {
		if err := ready(); err != nil {
			return fmt.Errorf("%w; tokens signed by Better Auth are refused until it loads", err)
		}
		return nil
	}}
}

// DatabaseCheck pings db.
func DatabaseCheck(db *gorm.DB) ReadinessCheck {
	return ReadinessCheck{Name: "database", Check: func(ctx context.Context) error {
		return database.Ping(ctx, db)
	}}
}

// healthz answers as long as the process serves HTTP; it touches no
// dependency, so a database outage never gets healthy instances restarted.
func healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz runs every check at once under ReadyTimeout and answers 200 when
// all pass, else 503 naming each dependency that failed.
func readyz(log *slog.Logger, checks []ReadinessCheck) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), ReadyTimeout)
		defer cancel()
		errs := make([]error, len(checks))
		var wg sync.WaitGroup
		for i, ch := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = ch.Check(ctx)
			}()
		}
		wg.Wait()

		status := make(map[string]string, len(checks))
		var failed []string
		for i, ch := range checks {
			status[ch.Name] = "ok"
			if errs[i] == nil {
				continue
			}
			why := "failed"
			switch {
			case ch.PublicReason:
				why = errs[i].Error()
			case database.Unavailable(errs[i]):
				why = "not reachable"
			}
			status[ch.Name] = why
			failed = append(failed, ch.Name+": "+why)
			log.LogAttrs(ctx, slog.LevelWarn, "readiness check failed",
				slog.String("check", ch.Name), slog.String("error", errs[i].Error()),
				slog.String("request_id", c.GetRespHeader(fiber.HeaderXRequestID)))
		}
		if failed != nil {
			return problem.Unavailable("Not ready: "+strings.Join(failed, "; ")+".").
				WithHeader(fiber.HeaderRetryAfter, "1")
		}
		return c.JSON(fiber.Map{"status": "ready", "checks": status})
	}
}
