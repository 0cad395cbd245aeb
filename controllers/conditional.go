package controllers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/models"
	"todo-api/problem"
)

// errStale answers a write whose If-Match does not match the task any more.
var errStale = problem.PreconditionFailed("The task has changed since the ETag in If-Match was issued; fetch it again and retry.")

// entityTag is one member of an If-Match or If-None-Match list.
type entityTag struct {
	weak   bool
	opaque string // with its quotes, as ETag headers carry it
}

// conditionTags reads every value of a conditional header (several header
// lines are one comma-separated list, RFC 9110 §5.3). star reports "*";
// present reports whether the header was sent at all. Malformed members are
// skipped: a tag that cannot be read matches nothing.
func conditionTags(c *fiber.Ctx, header string) (tags []entityTag, star, present bool) {
	for _, line := range c.Request().Header.PeekAll(header) {
		present = true
		s := string(line)
		for s != "" {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			if s[0] == '*' {
				star = true
				s = s[1:]
				continue
			}
			weak := strings.HasPrefix(s, "W/")
			if weak {
				s = s[2:]
			}
			end := -1
			if strings.HasPrefix(s, `"`) {
				end = strings.IndexByte(s[1:], '"')
			}
			if end < 0 {
				// Not an entity tag: skip to the next comma.
				_, s, _ = strings.Cut(s, ",")
				continue
			}
			tags = append(tags, entityTag{weak: weak, opaque: s[:end+2]})
			s = s[end+2:]
		}
	}
	return tags, star, present
}

// precondition is a write's If-Match, resolved for one task. The zero value
// (no header, or "*") lets any existing task through; otherwise only the
// versions listed pass, and there may be none.
type precondition struct {
	checked  bool
	versions []int64
}

// ifMatch reads If-Match for task id. Comparison is strong (RFC 9110
// §13.1.1), so a weak tag never matches, and so does a tag of another task.
func ifMatch(c *fiber.Ctx, id int64) precondition {
	return ifMatchTag(c, id, parseTaskETag)
}

// ifMatchTag is ifMatch for a resource whose tags parse reads.
func ifMatchTag(c *fiber.Ctx, id int64, parse func(string) (id, version int64, ok bool)) precondition {
	tags, star, present := conditionTags(c, fiber.HeaderIfMatch)
	if !present || star {
		return precondition{}
	}
	p := precondition{checked: true}
	for _, t := range tags {
		if t.weak {
			continue
		}
		tid, version, ok := parse(t.opaque)
		if ok && tid == id {
			p.versions = append(p.versions, version)
		}
	}
	return p
}

// impossible reports a precondition that no state of the task can meet.
func (p precondition) impossible() bool { return p.checked && len(p.versions) == 0 }

// matches reports whether a task at version passes.
func (p precondition) matches(version int64) bool {
	if !p.checked {
		return true
	}
	for _, v := range p.versions {
		if v == version {
			return true
		}
	}
	return false
}

// scope adds the precondition to the write's own WHERE clause
// (models.AtVersion).
func (p precondition) scope(db *gorm.DB) *gorm.DB {
	if !p.checked {
		return db
	}
	return models.AtVersion(p.versions)(db)
}

// listScope is scope for a write to a list (models.ListAtVersion).
func (p precondition) listScope(db *gorm.DB) *gorm.DB {
	if !p.checked {
		return db
	}
	return models.ListAtVersion(p.versions)(db)
}

// parseTaskETag reads `"<id>-<version>"`, the tag etag() makes.
func parseTaskETag(opaque string) (id, version int64, ok bool) {
	inner := strings.Trim(opaque, `"`)
	a, b, found := strings.Cut(inner, "-")
	if !found {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(a, 10, 64)
	version, err2 := strconv.ParseInt(b, 10, 64)
	return id, version, err1 == nil && err2 == nil
}

// notModified reports whether If-None-Match matches current, the ETag the
// response would carry. Comparison is weak (RFC 9110 §13.1.2).
func notModified(c *fiber.Ctx, current string) bool {
	tags, star, _ := conditionTags(c, fiber.HeaderIfNoneMatch)
	if star {
		return true
	}
	for _, t := range tags {
		if t.opaque == strings.TrimPrefix(current, "W/") {
			return true
		}
	}
	return false
}

// sendNotModified answers 304 with the validator and no body.
func sendNotModified(c *fiber.Ctx, tag string) error {
	c.Set(fiber.HeaderETag, tag)
	// Status, not SendStatus, which would add the status text as a body.
	c.Status(fiber.StatusNotModified)
	return nil
}

// cacheHeaders asks browsers to keep a response only for this user and to
// revalidate it (with If-None-Match) before every reuse.
func cacheHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
}
