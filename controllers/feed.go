package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// changeResponse is one entry of a feed page.
type changeResponse struct {
	Op     string        `json:"op"`
	Cursor string        `json:"cursor"`
	Task   *taskResponse `json:"task,omitempty"`
	ID     *int64        `json:"id,omitempty"`
}

// feedResponse is a page of the change feed.
type feedResponse struct {
	Changes []changeResponse `json:"changes"`
	Cursor  string           `json:"cursor"`
	HasMore bool             `json:"has_more"`
}

// Changes serves the change feed: the caller's changes after since, each
// task once in its latest state, deletes as tombstones, in position order.
func (h *Tasks) Changes(c *fiber.Ctx) error {
	user := middleware.UserID(c)
	since, limit, err := parseFeedQuery(c, user)
	if err != nil {
		return err
	}
	page, err := h.feedPage(c.UserContext(), user, since, limit)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(page)
}

// feedPage reads up to limit of user's changes after since: the one reader
// of the feed, for its REST page and for the event stream's catch-up. The
// page ends at the user's committed head, read first, so that a change
// committing meanwhile is on the next page and never skipped (see
// database/feed.go for why positions commit in order). A since above the
// head is no cursor this user was given: 422 naming since.
func (h *Tasks) feedPage(ctx context.Context, user string, since int64, limit int) (feedResponse, error) {
	head, err := h.store.ChangesHead(ctx, user)
	if err != nil {
		return feedResponse{}, err
	}
	if since > head {
		return feedResponse{}, problem.Invalid("since", "is not a cursor of this user's change feed")
	}
	changes, err := models.ChangesAfter(h.store.Tasks(ctx, user), h.store.Tombstones(ctx, user), since, head, limit+1)
	if err != nil {
		return feedResponse{}, err
	}
	out := feedResponse{Changes: make([]changeResponse, 0, min(len(changes), limit)), HasMore: len(changes) > limit}
	last := since
	for i := range changes[:min(len(changes), limit)] {
		ch := &changes[i]
		last = ch.Seq
		entry := changeResponse{Op: "upsert", Cursor: encodeCursor(ch.Seq, user)}
		if ch.Task == nil {
			entry.Op, entry.ID = "delete", &ch.TaskID
		} else {
			t := newTaskResponse(ch.Task)
			entry.Task = &t
		}
		out.Changes = append(out.Changes, entry)
	}
	out.Cursor = encodeCursor(last, user)
	return out, nil
}

// parseFeedQuery reads since (a cursor; absent for a full sync) and limit.
func parseFeedQuery(c *fiber.Ctx, user string) (since int64, limit int, err error) {
	limit = defaultLimit
	var errs []problem.FieldError
	bad := func(name, msg string) { errs = append(errs, problem.FieldError{Field: name, Message: msg}) }
	seen := map[string]bool{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		name, value := string(k), string(v)
		if seen[name] {
			bad(problem.Truncate(name, 64), "must be given at most once")
			return
		}
		seen[name] = true
		switch name {
		case "since":
			var ok bool
			if since, ok = decodeCursor(value, user); !ok {
				bad(name, "is not a cursor of this user's change feed; start over without since")
			}
		case "limit":
			n, convErr := strconv.Atoi(value)
			if convErr != nil || n < 1 || n > maxLimit {
				bad(name, "must be an integer from 1 to 500")
			}
			limit = n
		default:
			bad(problem.Truncate(name, 64), "is not a known query parameter")
		}
	})
	if len(errs) > 0 {
		return 0, 0, problem.Validation(errs...)
	}
	return since, limit, nil
}

// A cursor is "c_" and the base64url of a position (8 bytes) and a tag of
// the user it belongs to (4 bytes of the SHA-256 of the id): opaque to
// clients, and a cursor of another user (or mistyped) is refused instead
// of read as a position in the caller's history. The tag is no secret; the
// feed is bound to the caller either way.
const cursorPrefix = "c_"

func userTag(user string) []byte {
	sum := sha256.Sum256([]byte(user))
	return sum[:4]
}

func encodeCursor(seq int64, user string) string {
	var raw [12]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(seq))
	copy(raw[8:], userTag(user))
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
}

func decodeCursor(s, user string) (int64, bool) {
	body, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || len(body) != 16 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) != 12 || !bytes.Equal(raw[8:], userTag(user)) {
		return 0, false
	}
	seq := binary.BigEndian.Uint64(raw[:8])
	if seq > 1<<62 {
		return 0, false
	}
	return int64(seq), true
}
