package controllers

import (
	"time"

	"todo-api/models"
)

// applyTo fills a new task from validated changes.
func (ch taskChanges) applyTo(t *models.Task) {
	if ch.Title != nil {
		t.Title = *ch.Title
	}
	t.Description = ch.Description
	if ch.Completed != nil {
		t.Completed = *ch.Completed
	}
	t.Priority = models.DefaultPriority
	if ch.Priority != nil {
		t.Priority = models.Priority(*ch.Priority)
	}
	t.Tags = models.Tags{}
	if ch.Tags != nil {
		t.Tags = *ch.Tags
	}
	t.DueDate = ch.DueDate
	t.RemindAt = ch.RemindAt
	if ch.Recurrence != nil {
		r := models.Recurrence(*ch.Recurrence)
		t.Recurrence = &r
	}
}

// columns is the UPDATE's column map. A map, not a struct, so that false,
// "" and null are written rather than skipped.
func (ch taskChanges) columns(now time.Time) map[string]any {
	cols := map[string]any{}
	if ch.Title != nil {
		cols["title"] = *ch.Title
	}
	switch {
	case ch.Description != nil:
		cols["description"] = *ch.Description
	case ch.ClearDescription:
		cols["description"] = nil
	}
	if ch.Completed != nil {
		for k, v := range models.CompletedColumns(*ch.Completed, now) {
			cols[k] = v
		}
	}
	if ch.Priority != nil {
		cols["priority"] = *ch.Priority
	}
	if ch.Tags != nil {
		cols["tags"] = models.Tags(*ch.Tags)
	}
	switch {
	case ch.DueDate != nil:
		cols["due_date"] = *ch.DueDate
	case ch.ClearDueDate:
		cols["due_date"] = nil
	}
	if ch.RemindAt != nil || ch.ClearRemindAt {
		for k, v := range models.ReminderColumns(ch.RemindAt) {
			cols[k] = v
		}
	}
	switch {
	case ch.Recurrence != nil:
		cols["recurrence"] = *ch.Recurrence
	case ch.ClearRecurrence:
		cols["recurrence"] = nil
	}
	return cols
}
