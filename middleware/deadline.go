package middleware

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Deadline gives every request's database work a time limit: handlers pass
// c.UserContext() to the database, so a database that stops answering turns
// into a 503 after d instead of a request that hangs until the client gives up.
func Deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		parent := c.UserContext()
		ctx, cancel := context.WithTimeout(parent, d)
		defer cancel()
		c.SetUserContext(ctx)
		err := c.Next()
		// Outer middleware (the access log) must not see a cancelled context.
		c.SetUserContext(parent)
		return err
	}
}
