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
	q.filter.Now = h.now.Now()
	tasks := func() *gorm.DB { return h.read(c) }
	rows, err := models.ScanPage(models.Page(tasks, q.filter, q.order, q.limit, q.offset), q.limit)
	if err != nil {
		return err
	}
	var total int64
	switch {
	case len(rows) > 0:
		total = rows[0].TotalCount
	case q.offset > 0:
		// Past the end there is no row to carry the total; count apart.
		if err := h.read(c).Scopes(q.filter.Scope).Count(&total).Error; err != nil {
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

// listETag is the list's validator, a hash of everything the response is
// made of: the query, the total, and the id and version of each task on the
// page. A task's version goes up with every change to it (the next
// occurrence's id included, written in the same transaction), so equal
// hashes mean equal responses — a strong validator — and the hash costs no
// extra query. A change to a task that is not on the page and leaves the
// total alone does not move it: that response has not changed.
func listETag(user string, q listQuery, total int64, rows []models.PageRow) string {
	priorities, tags := slices.Clone(q.filter.Priorities), slices.Clone(q.filter.Tags)
	slices.Sort(priorities)
	slices.Sort(tags)
	key := make([]byte, 0, 128+len(rows)*16)
	key = fmt.Appendf(key, "%q|%d|%s|%q|%q|%q|%s|%s|%t|%s|%t|%d|%d|",
		user, total, q.filter.Status, priorities, tags, q.filter.Search,
		timeKey(q.filter.DueBefore), timeKey(q.filter.DueAfter), q.filter.Overdue, q.order.Key, q.order.Desc, q.limit, q.offset)
	key = fmt.Appendf(key, "%t|%s|%t|%s|", q.filter.InList, idKey(q.filter.ListID), q.filter.UnderParent, idKey(q.filter.ParentID))
	for i := range rows {
		key = strconv.AppendInt(key, rows[i].ID, 10)
		key = append(key, '-')
		key = strconv.AppendInt(key, rows[i].Version, 10)
		key = append(key, ',')
	}
	sum := sha256.Sum256(key)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

func idKey(id *int64) string {
	if id == nil {
		return "-"
	}
	return strconv.FormatInt(*id, 10)
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
