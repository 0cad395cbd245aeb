package controllers

import (
	"time"

	"todo-api/models"
)

// taskResponse is the task resource as SPEC.md shows it: times in UTC,
// absent values as null, tags always an array.
type taskResponse struct {
	ID          int64      `json:"id"`
	UserID      string     `json:"user_id"`
	Title       string     `json:"title"`
	Description *string    `json:"description"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at"`
	Priority    string     `json:"priority"`
	Tags        []string   `json:"tags"`
	DueDate     *time.Time `json:"due_date"`
	Recurrence  *string    `json:"recurrence"`
	Version     int64      `json:"version"`
	// NextTaskID is the occurrence that completing this recurring task
	// created, null until then.
	NextTaskID *int64    `json:"next_task_id"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// ListID is the task's list, null for the inbox; ParentID the task it
	// is a step of, null at top level; Position its read-only order key
	// among its siblings.
	ListID   *int64 `json:"list_id"`
	ParentID *int64 `json:"parent_id"`
	Position string `json:"position"`
	// RemindAt is when the owner is reminded, null for no reminder;
	// RemindedAt when that reminder fired, null until then.
	RemindAt   *time.Time `json:"remind_at"`
	RemindedAt *time.Time `json:"reminded_at"`
}

// newTaskResponse is the one mapping from a stored task to its JSON shape.
func newTaskResponse(t *models.Task) taskResponse {
	tags := []string(t.Tags)
	if tags == nil {
		tags = []string{}
	}
	return taskResponse{
		ID:          t.ID,
		UserID:      t.UserID,
		Title:       t.Title,
		Description: t.Description,
		Completed:   t.Completed,
		CompletedAt: utc(t.CompletedAt),
		Priority:    string(t.Priority),
		Tags:        tags,
		DueDate:     utc(t.DueDate),
		Recurrence:  (*string)(t.Recurrence),
		Version:     t.Version,
		NextTaskID:  t.NextTaskID,
		CreatedAt:   t.CreatedAt.UTC(),
		UpdatedAt:   t.UpdatedAt.UTC(),
		ListID:      t.ListID,
		ParentID:    t.ParentID,
		Position:    string(t.Position),
		RemindAt:    utc(t.RemindAt),
		RemindedAt:  utc(t.RemindedAt),
	}
}

// utc normalises a nullable time: drivers hand back times in the process's
// local zone.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// etag is the strong validator of one task (models.TaskETag).
func etag(t *models.Task) string { return models.TaskETag(t.ID, t.Version) }
