package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"todo-api/database"
	"todo-api/middleware"
	"todo-api/models"
	"todo-api/problem"
)

// Create adds a task owned by the token's user. With an Idempotency-Key
// header the first response for that user and key is stored with the task,
// in one transaction, and replayed for 24 hours instead of creating another.
func (h *Tasks) Create(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	ch, err := h.readChanges(c, modeReplace)
	if err != nil {
		return err
	}
	t := models.Task{UserID: middleware.UserID(c)}
	ch.applyTo(&t)
	location := "/api/" + url.PathEscape(t.UserID) + "/tasks/"
	// insert files the task and creates it, in the write's transaction.
	insert := func(tx database.Tx) error {
		var err error
		if t.ListID, t.ParentID, err = ch.Place.resolve(tx, nil); err != nil {
			return err
		}
		return createTask(tx, &t)
	}
	if key == "" {
		err := h.write(c, insert)
		if err != nil {
			return err
		}
		c.Location(location + strconv.FormatInt(t.ID, 10))
		return sendTask(c, fiber.StatusCreated, &t)
	}

	now := h.now.Now()
	rec := models.IdempotencyKey{Key: key, RequestHash: requestHash(ch), CreatedAt: now}
	var first models.IdempotencyKey // the stored record, when this is a retry
	err = h.write(c, func(tx database.Tx) error {
		claimed, err := tx.ClaimIdempotencyKey(&rec, now.Add(-models.IdempotencyTTL))
		if err != nil {
			return err
		}
		if !claimed {
			return tx.IdempotencyKeys().Scopes(models.IdempotencyKeyNamed(key)).Take(&first).Error
		}
		if err := insert(tx); err != nil {
			return err
		}
		body, err := json.Marshal(newTaskResponse(&t))
		if err != nil {
			return err
		}
		rec.Status, rec.Body = fiber.StatusCreated, string(body)
		rec.Location, rec.ETag = location+strconv.FormatInt(t.ID, 10), etag(&t)
		return tx.IdempotencyKeys().Scopes(models.IdempotencyKeyNamed(key)).
			Updates(map[string]any{"status": rec.Status, "body": rec.Body, "location": rec.Location, "etag": rec.ETag}).Error
	})
	if err != nil {
		return err
	}
	if first.Key == "" {
		return replay(c, &rec, false)
	}
	switch {
	case first.RequestHash != rec.RequestHash:
		return problem.Invalid("Idempotency-Key", "was already used with a different request; use a new key for a new task")
	case first.Status == 0:
		// Not reachable while the key row is written in the creating
		// transaction; kept so that a change there cannot replay a blank.
		return problem.New(fiber.StatusConflict, "A request with this Idempotency-Key is still being processed; retry shortly.")
	}
	return replay(c, &first, true)
}

// createTask inserts t. A list or parent that a concurrent request deleted
// after the checks is refused by the foreign keys, and answered as an
// unknown one.
func createTask(tx database.Tx, t *models.Task) error {
	err := tx.Tasks().Create(t).Error
	if database.BrokenReference(err) {
		if t.ParentID != nil {
			return errUnknownParent
		}
		return errUnknownList
	}
	return err
}

// replay sends a stored create response; replayed marks a retry's answer.
func replay(c *fiber.Ctx, rec *models.IdempotencyKey, replayed bool) error {
	if replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Location(rec.Location)
	c.Set(fiber.HeaderETag, rec.ETag)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(rec.Status).SendString(rec.Body)
}

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// idempotencyKey reads the Idempotency-Key header: absent or empty is "",
// otherwise 1–255 printable ASCII characters (it is an opaque string,
// typically a UUID, compared exactly).
func idempotencyKey(c *fiber.Ctx) (string, error) {
	key := strings.TrimSpace(c.Get("Idempotency-Key"))
	if key == "" {
		return "", nil
	}
	if len(key) > maxIdempotencyKey {
		return "", problem.Invalid("Idempotency-Key", "must be at most 255 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", problem.Invalid("Idempotency-Key", "must be printable ASCII")
		}
	}
	// A copy: Fiber reuses the header's memory after the handler returns.
	return strings.Clone(key), nil
}

// requestHash identifies a create request by what it asks for — the
// validated, normalised fields — so that a retry whose JSON was
// re-serialised differently (member order, spacing) is still the same request.
func requestHash(ch taskChanges) string {
	b, _ := json.Marshal(ch) // plain data; always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
