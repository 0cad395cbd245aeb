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

// changeResponse is one entry of a feed page: exactly one of Task, List
// (an upsert), ID (a deleted task) or ListID (a deleted list) is set.
type changeResponse struct {
	Op     string        `json:"op"`
	Cursor string        `json:"cursor"`
	Task   *taskResponse `json:"task,omitempty"`
	ID     *int64        `json:"id,omitempty"`
	List   *listResponse `json:"list,omitempty"`
	ListID *int64        `json:"list_id,omitempty"`
}

// feedResponse is a page of the change feed.
type feedResponse struct {
	Changes []changeResponse `json:"changes"`
	Cursor  string           `json:"cursor"`
	HasMore bool             `json:"has_more"`
}

// Changes serves the change feed: the caller's changes after since, each
// task and list once in its latest state, deletes as tombstones, in
// position order.
func (h *Tasks) Changes(c *fiber.Ctx) error {
	user := middleware.UserID(c)
	since, limit, err := parseFeedQuery(c, user)
	if err != nil {
		return err
	}
	page, err := h.feedPageAt(c.UserContext(), user, since, limit)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(page)
}

// errCursorExpired answers a cursor below the user's floor: a delete after
// it is no longer retained, so the client cannot be brought up to date from
// it. A type of its own, so that a client tells it from every other 410.
var errCursorExpired = &problem.Problem{Type: "urn:todo-api:problem:cursor-expired", Title: "Gone", Status: fiber.StatusGone,
	Detail: "This cursor is older than the change history kept (CHANGES_RETENTION); start over with a full sync: call again without since.",
	Errors: []problem.FieldError{{Field: "since", Message: "is older than the change history kept"}}}

// feedPage reads up to limit of user's changes after position since (0:
// a full sync): the one reader of the feed, for its REST page and for the
// event stream's catch-up.
func (h *Tasks) feedPage(ctx context.Context, user string, since int64, limit int) (feedResponse, error) {
	return h.feedPageAt(ctx, user, feedCursor{pos: since, known: since}, limit)
}

// feedPageAt is feedPage from a cursor. The page ends at the user's
// committed head, read first, so that a change committing meanwhile is on
// the next page and never skipped (see database/feed.go for why positions
// commit in order). A cursor above the head is no cursor this user was
// given: 422 naming since. One below the floor may have missed a purged
// delete: 410. The last page's cursor is the head itself, since the page
// held everything up to it.
func (h *Tasks) feedPageAt(ctx context.Context, user string, cur feedCursor, limit int) (feedResponse, error) {
	head, floor, err := h.store.ChangesBounds(ctx, user)
	if err != nil {
		return feedResponse{}, err
	}
	if cur.known > head {
		return feedResponse{}, problem.Invalid("since", "is not a cursor of this user's change feed")
	}
	if cur.known == 0 {
		// A full sync: nothing deleted up to the head concerns a client
		// that holds nothing yet.
		cur.known = head
	}
	if cur.known < floor {
		return feedResponse{}, errCursorExpired
	}
	src := models.FeedSources{Tasks: h.store.Tasks(ctx, user), Lists: h.store.Lists(ctx, user), Tombstones: h.store.Tombstones(ctx, user)}
	changes, err := models.ChangesAfter(src, cur.pos, cur.known, head, limit+1)
	if err != nil {
		return feedResponse{}, err
	}
	out := feedResponse{Changes: make([]changeResponse, 0, min(len(changes), limit)), HasMore: len(changes) > limit}
	last := cur.pos
	for i := range changes[:min(len(changes), limit)] {
		ch := &changes[i]
		last = ch.Seq
		out.Changes = append(out.Changes, newChangeResponse(ch, user))
	}
	switch {
	case !out.HasMore:
		out.Cursor = encodeCursor(head, user)
	case cur.known > last:
		out.Cursor = encodeSyncCursor(feedCursor{pos: last, known: cur.known}, user)
	default:
		out.Cursor = encodeCursor(last, user)
	}
	return out, nil
}

func newChangeResponse(ch *models.Change, user string) changeResponse {
	entry := changeResponse{Op: "upsert", Cursor: encodeCursor(ch.Seq, user)}
	switch {
	case ch.Task != nil:
		t := newTaskResponse(ch.Task)
		entry.Task = &t
	case ch.List != nil:
		l := newListResponse(ch.List)
		entry.List = &l
	case ch.ListID != 0:
		entry.Op, entry.ListID = "delete", &ch.ListID
	default:
		entry.Op, entry.ID = "delete", &ch.TaskID
	}
	return entry
}

// parseFeedQuery reads since (a cursor; absent for a full sync) and limit.
func parseFeedQuery(c *fiber.Ctx, user string) (since feedCursor, limit int, err error) {
	limit = defaultLimit
	params, errs := querySpec{known: []string{"since", "limit"}}.params(c)
	bad := func(name, msg string) { errs = append(errs, problem.FieldError{Field: name, Message: msg}) }
	for _, p := range params {
		switch p.name {
		case "since":
			var ok bool
			if since, ok = decodeFeedCursor(p.value, user); !ok {
				bad(p.name, "is not a cursor of this user's change feed; start over without since")
			}
		case "limit":
			n, convErr := strconv.Atoi(p.value)
			if convErr != nil || n < 1 || n > maxLimit {
				bad(p.name, "must be an integer from 1 to 500")
			}
			limit = n
		}
	}
	if len(errs) > 0 {
		return feedCursor{}, 0, problem.Validation(errs...)
	}
	return since, limit, nil
}

// A cursor is "c_" and the base64url of a position (8 bytes) and a tag of
// the user it belongs to (4 bytes of the SHA-256 of the id): opaque to
// clients, and a cursor of another user (or mistyped) is refused instead
// of read as a position in the caller's history. The tag is no secret; the
// feed is bound to the caller either way.
//
// A page in the middle of a full sync carries a second position after the
// first, known: the head when the sync began. The client holds nothing
// deleted at or below it (what was deleted before the sync began was never
// sent), so those tombstones are not sent, and their purge does not make
// the cursor expire. Without it, a full sync of a user whose old tasks sit
// below the floor would page into a 410 on its second page, every time.
const cursorPrefix = "c_"

// feedCursor is a decoded cursor: changes after pos, of which tombstones
// after known (known >= pos).
type feedCursor struct{ pos, known int64 }

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

func encodeSyncCursor(c feedCursor, user string) string {
	var raw [20]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(c.pos))
	binary.BigEndian.PutUint64(raw[8:16], uint64(c.known))
	copy(raw[16:], userTag(user))
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
}

// decodeCursor reads the position of a cursor of user's.
func decodeCursor(s, user string) (int64, bool) {
	c, ok := decodeFeedCursor(s, user)
	return c.pos, ok
}

// decodeFeedCursor reads a cursor of either form.
func decodeFeedCursor(s, user string) (feedCursor, bool) {
	body, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || (len(body) != 16 && len(body) != 27) {
		return feedCursor{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || (len(raw) != 12 && len(raw) != 20) || !bytes.Equal(raw[len(raw)-4:], userTag(user)) {
		return feedCursor{}, false
	}
	pos := binary.BigEndian.Uint64(raw[:8])
	known := pos
	if len(raw) == 20 {
		known = binary.BigEndian.Uint64(raw[8:16])
	}
	if pos > 1<<62 || known > 1<<62 || known < pos {
		return feedCursor{}, false
	}
	return feedCursor{pos: int64(pos), known: int64(known)}, true
}
