package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/middleware"
	"todo-api/models"
)

// List returns the caller's tasks, filtered, sorted and a page at a time:
// the total across pages is in X-Total-Count, the neighbouring pages in an
// RFC 8288 Link header, and If-None-Match with the list's ETag is a 304.
func (h *Tasks) List(c *fiber.Ctx) error {
	q, err := parseListQuery(c)
	if err != nil {
		return err
	}
	now := h.now.Now()
	// The fingerprint is read before the page, never after it: a write in
	// between then gives a page newer than its ETag, which the next request
	// refreshes, instead of an old page under a new ETag that 304s forever.
	fp, err := h.fingerprint(c)
	if err != nil {
		return err
	}
	total := fp.Count
	if q.filtered() {
		if err := h.filter(q, h.tasks(c), now).Count(&total).Error; err != nil {
			return err
		}
	}
	tag := listETag(middleware.UserID(c), q, fp, total)
	cacheHeaders(c)
	if notModified(c, tag) {
		return sendNotModified(c, tag)
	}

	tasks := make([]models.Task, 0, min(q.limit, int(total)))
	if total > int64(q.offset) {
		err := order(q, h.filter(q, h.tasks(c), now)).Limit(q.limit).Offset(q.offset).Find(&tasks).Error
		if err != nil {
			return err
		}
	}
	out := make([]taskResponse, len(tasks))
	for i := range tasks {
		out[i] = newTaskResponse(&tasks[i])
	}
	c.Set(fiber.HeaderETag, tag)
	c.Set("X-Total-Count", strconv.FormatInt(total, 10))
	if link := pageLinks(c, q, total); link != "" {
		c.Set(fiber.HeaderLink, link)
	}
	return c.JSON(out)
}

// filter adds the query's conditions to a scoped task query. Each is its own
// Where, which GORM joins with AND; the one OR is inside parentheses, so no
// condition can widen the user scope.
func (h *Tasks) filter(q listQuery, db *gorm.DB, now time.Time) *gorm.DB {
	switch q.status {
	case "pending":
		db = db.Where("tasks.completed = ?", false)
	case "completed":
		db = db.Where("tasks.completed = ?", true)
	}
	if len(q.priorities) > 0 {
		db = db.Where("tasks.priority IN ?", q.priorities)
	}
	if len(q.tags) > 0 {
		db = db.Where(h.store.HasAllTags(q.tags))
	}
	if q.search != "" {
		// LOWER on both sides, so that each database folds case the same
		// way for the text and the pattern; '!' escapes the wildcards.
		pattern := "%" + escapeLike(q.search) + "%"
		db = db.Where("(LOWER(tasks.title) LIKE LOWER(?) ESCAPE '!' OR LOWER(tasks.description) LIKE LOWER(?) ESCAPE '!')", pattern, pattern)
	}
	if q.dueBefore != nil {
		db = db.Where("tasks.due_date <= ?", *q.dueBefore)
	}
	if q.dueAfter != nil {
		db = db.Where("tasks.due_date >= ?", *q.dueAfter)
	}
	if q.overdue {
		if q.status != "pending" {
			db = db.Where("tasks.completed = ?", false)
		}
		db = db.Where("tasks.due_date < ?", now)
	}
	return db
}

// escapeLike makes %, _ and the escape character itself literal in a LIKE
// pattern that uses ESCAPE '!'.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// order sorts by the query's key, then by id in the same direction, so that
// equal keys keep one order and pages neither repeat nor skip a task. The
// expressions are fixed strings chosen by the whitelisted key, never client text.
func order(q listQuery, db *gorm.DB) *gorm.DB {
	dir := " ASC"
	if q.desc {
		dir = " DESC"
	}
	switch q.sort {
	case "created":
		db = db.Order("tasks.created_at" + dir)
	case "updated":
		db = db.Order("tasks.updated_at" + dir)
	case "title":
		db = db.Order("LOWER(tasks.title)" + dir)
	case "due_date":
		// Tasks without a due date come last in both directions.
		db = db.Order("tasks.due_date" + dir + " NULLS LAST")
	case "priority":
		db = db.Order("CASE tasks.priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END" + dir)
	}
	return db.Order("tasks.id" + dir)
}

// fingerprint summarises all of a user's tasks. Ids only grow (bigserial,
// SQLite AUTOINCREMENT) and every update adds one to a version, so any
// change moves it: an update raises the version sum; a create or delete
// moves the count, unless both happened, and then the id sum has grown,
// because every new id is larger than every id that was there before.
type fingerprint struct {
	Count      int64
	IDSum      int64
	VersionSum int64
}

func (h *Tasks) fingerprint(c *fiber.Ctx) (fingerprint, error) {
	var fp fingerprint
	err := h.tasks(c).Select("COUNT(*) AS count, " +
		"CAST(COALESCE(SUM(tasks.id), 0) AS BIGINT) AS id_sum, " +
		"CAST(COALESCE(SUM(tasks.version), 0) AS BIGINT) AS version_sum").Scan(&fp).Error
	return fp, err
}

// listETag is the list's validator: the user's fingerprint, the query, and
// the number of tasks the filter matches — which moves when the passing of
// time alone changes the answer (overdue=true).
func listETag(user string, q listQuery, fp fingerprint, total int64) string {
	priorities, tags := slices.Clone(q.priorities), slices.Clone(q.tags)
	slices.Sort(priorities)
	slices.Sort(tags)
	key := fmt.Sprintf("%q|%d|%d|%d|%d|%s|%q|%q|%q|%s|%s|%t|%s|%t|%d|%d",
		user, fp.Count, fp.IDSum, fp.VersionSum, total, q.status, priorities, tags, q.search,
		timeKey(q.dueBefore), timeKey(q.dueAfter), q.overdue, q.sort, q.desc, q.limit, q.offset)
	sum := sha256.Sum256([]byte(key))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

func timeKey(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339Nano)
}

// pageLinks is the RFC 8288 Link header value with the next and previous
// pages: the request's own parameters with offset moved on or back.
func pageLinks(c *fiber.Ctx, q listQuery, total int64) string {
	params := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		params.Add(string(k), string(v))
	})
	params.Set("limit", strconv.Itoa(q.limit))
	base := "/api/" + url.PathEscape(middleware.UserID(c)) + "/tasks?"
	link := func(offset int, rel string) string {
		params.Set("offset", strconv.Itoa(offset))
		return "<" + base + params.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if int64(q.offset) < total-int64(q.limit) { // not offset+limit: it may overflow
		links = append(links, link(q.offset+q.limit, "next"))
	}
	if q.offset > 0 {
		prev := q.offset - q.limit
		if int64(q.offset) >= total {
			// Past the end: back to the last full page, not an empty one.
			prev = int(total) - q.limit
		}
		links = append(links, link(max(prev, 0), "prev"))
	}
	return strings.Join(links, ", ")
}
