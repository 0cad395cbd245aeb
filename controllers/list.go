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
//
// It is one statement: the page, with the number of all matching tasks in
// every row (a scalar subquery the database runs once). One statement also
// means one snapshot, so the page, the total and the ETag made from them
// always agree.
func (h *Tasks) List(c *fiber.Ctx) error {
	q, err := parseListQuery(c)
	if err != nil {
		return err
	}
	now := h.now.Now()
	tasks := func() *gorm.DB { return h.tasks(c) }
	rows, err := scanPage(h.page(tasks, q, now), q.limit)
	if err != nil {
		return err
	}
	var total int64
	switch {
	case len(rows) > 0:
		total = rows[0].TotalCount
	case q.offset > 0:
		// Past the end there is no row to carry the total; count apart.
		if err := h.filter(q, h.tasks(c), now).Count(&total).Error; err != nil {
			return err
		}
	}
	tag := listETag(middleware.UserID(c), q, total, rows)
	cacheHeaders(c)
	if notModified(c, tag) {
		return sendNotModified(c, tag)
	}
	out := make([]taskResponse, len(rows))
	for i := range rows {
		out[i] = newTaskResponse(&rows[i].Task)
	}
	c.Set(fiber.HeaderETag, tag)
	c.Set("X-Total-Count", strconv.FormatInt(total, 10))
	if link := pageLinks(c, q, total); link != "" {
		c.Set(fiber.HeaderLink, link)
	}
	return c.JSON(out)
}

// listRow is a task of the page with the number of tasks the filter matches.
type listRow struct {
	models.Task
	TotalCount int64
}

// scanPage runs the page statement and reads its rows.
func scanPage(stmt *gorm.DB, limit int) ([]listRow, error) {
	rows, err := stmt.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]listRow, 0, limit)
	for rows.Next() {
		page = append(page, listRow{})
		r := &page[len(page)-1]
		if err := models.ScanTask(rows, &r.Task, &r.TotalCount); err != nil {
			return nil, err
		}
	}
	return page, rows.Err()
}

// page is the list's one statement: the page of tasks, each row carrying
// the total count of matching tasks. tasks starts a statement on the
// caller's tasks (called twice: the subquery is a statement of its own).
func (h *Tasks) page(tasks func() *gorm.DB, q listQuery, now time.Time) *gorm.DB {
	count := h.filter(q, tasks(), now).Select("COUNT(*)")
	return order(q, h.filter(q, tasks(), now)).
		Select(models.TaskColumns+", (?) AS total_count", count).
		Limit(q.limit).Offset(q.offset)
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

// listETag is the list's validator, a hash of everything the response is
// made of: the query, the total, and the id and version of each task on the
// page. A task's version goes up with every change to it (the next
// occurrence's id included, written in the same transaction), so equal
// hashes mean equal responses — a strong validator — and the hash costs no
// extra query. A change to a task that is not on the page and leaves the
// total alone does not move it: that response has not changed.
func listETag(user string, q listQuery, total int64, rows []listRow) string {
	priorities, tags := slices.Clone(q.priorities), slices.Clone(q.tags)
	slices.Sort(priorities)
	slices.Sort(tags)
	key := make([]byte, 0, 128+len(rows)*16)
	key = fmt.Appendf(key, "%q|%d|%s|%q|%q|%q|%s|%s|%t|%s|%t|%d|%d|",
		user, total, q.status, priorities, tags, q.search,
		timeKey(q.dueBefore), timeKey(q.dueAfter), q.overdue, q.sort, q.desc, q.limit, q.offset)
	for i := range rows {
		key = strconv.AppendInt(key, rows[i].ID, 10)
		key = append(key, '-')
		key = strconv.AppendInt(key, rows[i].Version, 10)
		key = append(key, ',')
	}
	sum := sha256.Sum256(key)
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
