package middleware

import (
	"sync"

	"github.com/gofiber/fiber/v2"

	"todo-api/metrics"
)

// routeNames labels a request with the pattern of the route that answered
// it, for logs and metrics. Fiber's c.Route() is the last route that ran,
// which is a middleware (the global "/" one, a group prefix) when no handler
// matched; such a request is labelled by that prefix when a middleware
// answered it (a 401 from the /api group, say) and metrics.Unmatched when
// the router found nothing (404, 405). Either way the label is a pattern
// registered in the code, never text from the request, so the number of
// series stays bounded.
type routeNames struct {
	once     sync.Once
	handlers map[[2]string]bool // {method, pattern} of every handler route
	patterns map[string]bool    // every registered path, middleware included
}

func (r *routeNames) of(c *fiber.Ctx) string {
	// Routes are all registered before the first request is served.
	r.once.Do(func() {
		r.handlers, r.patterns = map[[2]string]bool{}, map[string]bool{}
		for _, rt := range c.App().GetRoutes(true) {
			r.handlers[[2]string{rt.Method, rt.Path}] = true
		}
		for _, rt := range c.App().GetRoutes(false) {
			r.patterns[rt.Path] = true
		}
	})
	rt := c.Route()
	if r.handlers[[2]string{rt.Method, rt.Path}] {
		return rt.Path
	}
	status := c.Response().StatusCode()
	if !r.patterns[rt.Path] || rt.Path == "/" || status == fiber.StatusNotFound || status == fiber.StatusMethodNotAllowed {
		return metrics.Unmatched
	}
	return rt.Path
}

// methodName returns the method as a constant string: Fiber's c.Method()
// points into a buffer it reuses, which a metric label must not keep.
func methodName(m string) string {
	for _, known := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodHead, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace} {
		if m == known {
			return known
		}
	}
	return "OTHER"
}
