package server

import (
	"slices"

	"github.com/gofiber/fiber/v2"
)

// guarded registers routes whose handler chain starts with before (the
// token check, the per-user limit, the path-user check). Group middleware
// would do the same work, but Fiber's c.Route() would then be the group's
// prefix when one of them answers, so a 401 or 403 was logged and counted
// as "/api"; in the chain of each route it is the route's own pattern
// (/api/:user_id/tasks/:id).
type guarded struct {
	r      fiber.Router
	before []fiber.Handler
}

func guard(r fiber.Router, before ...fiber.Handler) guarded {
	return guarded{r: r, before: before}
}

func (g guarded) chain(h []fiber.Handler) []fiber.Handler {
	return append(slices.Clip(g.before), h...)
}

// Get registers GET (and HEAD) path with the guard before handlers.
func (g guarded) Get(path string, handlers ...fiber.Handler) { g.r.Get(path, g.chain(handlers)...) }

// Post registers POST path with the guard before handlers.
func (g guarded) Post(path string, handlers ...fiber.Handler) { g.r.Post(path, g.chain(handlers)...) }

// Put registers PUT path with the guard before handlers.
func (g guarded) Put(path string, handlers ...fiber.Handler) { g.r.Put(path, g.chain(handlers)...) }

// Patch registers PATCH path with the guard before handlers.
func (g guarded) Patch(path string, handlers ...fiber.Handler) { g.r.Patch(path, g.chain(handlers)...) }

// Delete registers DELETE path with the guard before handlers.
func (g guarded) Delete(path string, handlers ...fiber.Handler) {
	g.r.Delete(path, g.chain(handlers)...)
}
