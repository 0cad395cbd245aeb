package controllers

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"todo-api/database"
	"todo-api/internal/jsonbody"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// Lists serves /api/{user_id}/lists and everything under it.
type Lists struct {
	store    *database.Store
	now      models.Clock
	maxLists int
}

// NewLists wires the list handlers; maxLists is MAX_LISTS_PER_USER.
func NewLists(store *database.Store, now models.Clock, maxLists int) *Lists {
	return &Lists{store: store, now: now, maxLists: maxLists}
}

// errListNotFound answers for a list that does not exist and one of
// another user alike.
var errListNotFound = problem.NotFound("No list with this id.")

// errStaleList is errStale for lists.
var errStaleList = problem.PreconditionFailed("The list has changed since the ETag in If-Match was issued; fetch it again and retry.")

// listResponse is the list resource as SPEC.md shows it.
type listResponse struct {
	ID           int64     `json:"id"`
	UserID       string    `json:"user_id"`
	Name         string    `json:"name"`
	Color        *string   `json:"color"`
	Position     string    `json:"position"`
	TaskCount    int64     `json:"task_count"`
	PendingCount int64     `json:"pending_count"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func newListResponse(r *models.ListRow) listResponse {
	return listResponse{
		ID: r.ID, UserID: r.UserID, Name: r.Name, Color: r.Color, Position: string(r.Position),
		TaskCount: r.TaskCount, PendingCount: r.PendingCount, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// etagOfList is a list's strong validator. The counts are in it, since they
// are part of the representation and change without the list's version;
// If-Match compares the id and version only (parseListETag): the counts
// are not the list's to guard.
func etagOfList(r *models.ListRow) string {
	return fmt.Sprintf(`"list-%d-%d-%d-%d"`, r.ID, r.Version, r.TaskCount, r.PendingCount)
}

// parseListETag reads the id and version of a tag etagOfList made.
func parseListETag(opaque string) (id, version int64, ok bool) {
	parts := strings.Split(strings.Trim(opaque, `"`), "-")
	if len(parts) != 5 || parts[0] != "list" {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(parts[1], 10, 64)
	version, err2 := strconv.ParseInt(parts[2], 10, 64)
	return id, version, err1 == nil && err2 == nil
}

func (h *Lists) read(c *fiber.Ctx) *gorm.DB {
	return h.store.Lists(c.UserContext(), middleware.UserID(c))
}

func (h *Lists) write(c *fiber.Ctx, fn func(database.Tx) error) error {
	return h.store.Write(c.UserContext(), middleware.UserID(c), fn)
}

// findList reads one list with its counts through db (the read door or a
// transaction's Lists()).
func findList(db *gorm.DB, id int64) (*models.ListRow, error) {
	var rows []models.ListRow
	if err := db.Scopes(models.WithCounts, models.ListID(id)).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errListNotFound
	}
	return &rows[0], nil
}

// listID reads {id}.
func listID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errListNotFound
	}
	return id, nil
}

func sendList(c *fiber.Ctx, status int, r *models.ListRow) error {
	c.Set(fiber.HeaderETag, etagOfList(r))
	return c.Status(status).JSON(newListResponse(r))
}

// Index returns every list of the caller, in manual order, with counts.
func (h *Lists) Index(c *fiber.Ctx) error {
	if _, errs := (querySpec{}).params(c); len(errs) > 0 {
		return problem.Validation(errs...)
	}
	var rows []models.ListRow
	if err := h.read(c).Scopes(models.WithCounts).Scan(&rows).Error; err != nil {
		return err
	}
	out := make([]listResponse, len(rows))
	for i := range rows {
		out[i] = newListResponse(&rows[i])
	}
	cacheHeaders(c)
	return c.JSON(out)
}

// Get returns one list; If-None-Match with its current ETag is a 304.
func (h *Lists) Get(c *fiber.Ctx) error {
	id, err := listID(c)
	if err != nil {
		return err
	}
	r, err := findList(h.read(c), id)
	if err != nil {
		return err
	}
	cacheHeaders(c)
	if notModified(c, etagOfList(r)) {
		return sendNotModified(c, etagOfList(r))
	}
	return sendList(c, fiber.StatusOK, r)
}

// listInput is the body of POST and PATCH.
type listInput struct {
	Name  jsonbody.Field[string] `json:"name"`
	Color jsonbody.Field[string] `json:"color"`

	ID           jsonbody.Ignored `json:"id"`
	UserID       jsonbody.Ignored `json:"user_id"`
	Position     jsonbody.Ignored `json:"position"`
	TaskCount    jsonbody.Ignored `json:"task_count"`
	PendingCount jsonbody.Ignored `json:"pending_count"`
	Version      jsonbody.Ignored `json:"version"`
	CreatedAt    jsonbody.Ignored `json:"created_at"`
	UpdatedAt    jsonbody.Ignored `json:"updated_at"`
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// readList decodes and validates a list body into an update's column map
// (name, color); every broken rule is reported at once.
func readList(c *fiber.Ctx, create bool) (map[string]any, error) {
	var in listInput
	unknown, err := jsonbody.Decode(c.Get(fiber.HeaderContentType), c.Body(), &in)
	if err != nil {
		if errors.Is(err, jsonbody.ErrEmpty) {
			return nil, problem.BadRequest("A JSON body is required.")
		}
		return nil, err
	}
	errs := unknownMembers(unknown, "is not a field of a list")
	cols := map[string]any{}
	switch {
	case in.Name.Set && in.Name.Null:
		errs = append(errs, problem.FieldError{Field: "name", Message: "must not be null"})
	case in.Name.Set:
		name := strings.TrimSpace(in.Name.Value)
		switch n := utf8.RuneCountInString(name); {
		case n == 0:
			errs = append(errs, problem.FieldError{Field: "name", Message: "must not be empty"})
		case n > 100:
			errs = append(errs, problem.FieldError{Field: "name", Message: "must be at most 100 characters"})
		case !cleanText(name):
			errs = append(errs, problem.FieldError{Field: "name", Message: "must not contain control characters"})
		default:
			cols["name"] = name
			cols["name_key"] = models.FoldName(name)
		}
	case create:
		errs = append(errs, problem.FieldError{Field: "name", Message: "is required"})
	}
	switch {
	case in.Color.Set && in.Color.Null:
		cols["color"] = nil
	case in.Color.Set && !hexColor.MatchString(in.Color.Value):
		errs = append(errs, problem.FieldError{Field: "color", Message: "must be null or a color as #rrggbb"})
	case in.Color.Set:
		cols["color"] = strings.ToLower(in.Color.Value)
	}
	if len(errs) > 0 {
		return nil, problem.Validation(errs...)
	}
	return cols, nil
}

// errDuplicateName is a second list of the same name, ignoring case.
var errDuplicateName = &problem.Problem{Type: "about:blank", Title: "Conflict", Status: fiber.StatusConflict,
	Detail: "You already have a list with this name (names are compared ignoring case); choose another.",
	Errors: []problem.FieldError{{Field: "name", Message: "is already the name of one of your lists"}}}

// Create adds a list, first in the caller's order.
func (h *Lists) Create(c *fiber.Ctx) error {
	cols, err := readList(c, true)
	if err != nil {
		return err
	}
	l := models.List{UserID: middleware.UserID(c), Name: cols["name"].(string)}
	if color, ok := cols["color"].(string); ok {
		l.Color = &color
	}
	var row *models.ListRow
	err = h.write(c, func(tx database.Tx) error {
		var n int64
		if err := tx.Lists().Count(&n).Error; err != nil {
			return err
		}
		if n >= int64(h.maxLists) {
			return &problem.Problem{Type: "about:blank", Title: "Conflict", Status: fiber.StatusConflict,
				Detail: fmt.Sprintf("You have %d lists, the most allowed (MAX_LISTS_PER_USER); delete one first.", n),
				Errors: []problem.FieldError{{Field: "MAX_LISTS_PER_USER", Message: fmt.Sprintf("at most %d lists a user", h.maxLists)}}}
		}
		if err := tx.Lists().Create(&l).Error; err != nil {
			if database.Duplicate(err) {
				return errDuplicateName
			}
			return err
		}
		row = &models.ListRow{List: l}
		return nil
	})
	if err != nil {
		return err
	}
	c.Location("/api/" + url.PathEscape(l.UserID) + "/lists/" + strconv.FormatInt(l.ID, 10))
	return sendList(c, fiber.StatusCreated, row)
}

// Patch changes a list's name or color. A PATCH that changes nothing
// writes nothing; If-Match is part of the UPDATE's own WHERE clause.
func (h *Lists) Patch(c *fiber.Ctx) error {
	id, err := listID(c)
	if err != nil {
		return err
	}
	cols, err := readList(c, false)
	if err != nil {
		return err
	}
	pre := ifMatchTag(c, id, parseListETag)
	var row *models.ListRow
	err = h.write(c, func(tx database.Tx) error {
		if len(cols) > 0 {
			res := tx.Lists().Model(&models.List{}).Scopes(models.ListID(id), pre.listScope, models.ListChanges(cols)).Updates(cols)
			if res.Error != nil {
				if database.Duplicate(res.Error) {
					return errDuplicateName
				}
				return res.Error
			}
			if res.RowsAffected > 0 {
				var err error
				row, err = findList(tx.Lists(), id)
				return err
			}
		}
		var err error
		if row, err = findList(tx.Lists(), id); err != nil {
			return err
		}
		if !pre.matches(row.Version) {
			return errStaleList
		}
		return nil
	})
	if err != nil {
		return err
	}
	return sendList(c, fiber.StatusOK, row)
}

// Delete removes a list. One that holds tasks is refused (409, with how
// many) unless ?tasks=delete deletes them too or ?tasks=inbox moves them
// to the inbox: nothing is lost by accident. Either happens in the same
// transaction as the delete.
func (h *Lists) Delete(c *fiber.Ctx) error {
	id, err := listID(c)
	if err != nil {
		return err
	}
	mode, err := deleteMode(c)
	if err != nil {
		return err
	}
	pre := ifMatchTag(c, id, parseListETag)
	now := h.now.Now()
	err = h.write(c, func(tx database.Tx) error {
		l, err := findList(tx.Lists(), id)
		if err != nil {
			return err
		}
		if !pre.matches(l.Version) {
			return errStaleList
		}
		inList := func() *gorm.DB { return tx.Tasks().Scopes(models.ListTasks(&id)) }
		switch {
		case l.TaskCount == 0:
		case mode == "delete":
			if err := inList().Delete(&models.Task{}).Error; err != nil {
				return err
			}
		case mode == "inbox":
			if err := inList().Updates(map[string]any{"list_id": nil, "updated_at": now}).Error; err != nil {
				return err
			}
		default:
			return listNotEmpty(l.TaskCount)
		}
		res := tx.Lists().Scopes(models.ListID(id)).Delete(&models.List{})
		if database.BrokenReference(res.Error) {
			// A task was filed into the list meanwhile.
			return listNotEmpty(l.TaskCount + 1)
		}
		return res.Error
	})
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func listNotEmpty(n int64) error {
	return &problem.Problem{Type: "about:blank", Title: "Conflict", Status: fiber.StatusConflict,
		Detail: fmt.Sprintf("The list holds %d tasks; delete with ?tasks=delete to delete them too, or ?tasks=inbox to keep them in the inbox.", n),
		Errors: []problem.FieldError{{Field: "tasks", Message: fmt.Sprintf("the list holds %d tasks", n)}}}
}

// deleteMode reads DELETE's one parameter, tasks=delete|inbox.
func deleteMode(c *fiber.Ctx) (string, error) {
	params, errs := querySpec{known: []string{"tasks"}}.params(c)
	mode := ""
	for _, p := range params {
		if p.value != "delete" && p.value != "inbox" {
			errs = append(errs, problem.FieldError{Field: p.name, Message: "must be delete or inbox"})
		}
		mode = p.value
	}
	if len(errs) > 0 {
		return "", problem.Validation(errs...)
	}
	return mode, nil
}

// Move puts a list right after another of the caller's lists, or first
// (after_id null). It writes only the moved list; moving it where it is
// already writes nothing.
func (h *Lists) Move(c *fiber.Ctx) error {
	id, err := listID(c)
	if err != nil {
		return err
	}
	var in struct {
		AfterID jsonbody.Field[int64] `json:"after_id"`
	}
	unknown, err := jsonbody.Decode(c.Get(fiber.HeaderContentType), c.Body(), &in)
	if err != nil && !errors.Is(err, jsonbody.ErrEmpty) {
		return err
	}
	errs := unknownMembers(unknown, "is not a field of a list move")
	if !in.AfterID.Set {
		errs = append(errs, problem.FieldError{Field: "after_id", Message: "is required: a list id, or null for first"})
	}
	if len(errs) > 0 {
		return problem.Validation(errs...)
	}
	pre := ifMatchTag(c, id, parseListETag)
	now := h.now.Now()
	var row *models.ListRow
	err = h.write(c, func(tx database.Tx) error {
		l, err := findList(tx.Lists(), id)
		if err != nil {
			return err
		}
		if !pre.matches(l.Version) {
			return errStaleList
		}
		siblings := func() *gorm.DB { return tx.Lists().Scopes(models.NotRow("lists", id)) }
		p := placement{table: "lists", siblings: siblings, now: now,
			renumber: func() error { return tx.Renumber("lists", siblings(), now) },
			reread: func(id int64) (models.OrderKey, error) {
				var keys []models.OrderKey
				err := tx.Lists().Scopes(models.ListID(id)).Pluck("position", &keys).Error
				if err == nil && len(keys) == 0 {
					err = errors.New("the list to go after vanished")
				}
				if err != nil {
					return "", err
				}
				return keys[0], nil
			}}
		here := models.Placed{Position: l.Position, ID: l.ID}
		if !in.AfterID.Null {
			if in.AfterID.Value == id {
				return problem.Invalid("after_id", "must be another list than the one moved")
			}
			after, err := findList(tx.Lists(), in.AfterID.Value)
			if errors.Is(err, errListNotFound) {
				return problem.Invalid("after_id", "must be the id of one of your lists, or null")
			}
			if err != nil {
				return err
			}
			p.after = &models.Placed{Position: after.Position, ID: after.ID}
		}
		// Already there: the row before it is after (or none, for first).
		before, hasBefore, err := models.LastPlaced(siblings().Scopes(models.PlacedBefore("lists", here)), "lists")
		if err != nil {
			return err
		}
		if (p.after == nil && !hasBefore) || (p.after != nil && hasBefore && before.ID == p.after.ID) {
			row = l
			return nil
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		if err := tx.Lists().Model(&models.List{}).Scopes(models.ListID(id)).
			Updates(map[string]any{"position": key, "updated_at": now}).Error; err != nil {
			return err
		}
		row, err = findList(tx.Lists(), id)
		return err
	})
	if err != nil {
		return err
	}
	return sendList(c, fiber.StatusOK, row)
}
