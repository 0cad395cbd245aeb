package blackbox_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"todo-api/models"
)

// task is a task as the API returns it and as the checks compare it.
type task struct {
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
	NextTaskID  *int64     `json:"next_task_id"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func (r reply) task() (task, error) {
	var t task
	err := json.Unmarshal([]byte(r.body), &t)
	return t, err
}

// fromModel is a stored row as the API would show it.
func fromModel(m models.Task) task {
	t := task{
		ID: m.ID, UserID: m.UserID, Title: m.Title, Description: m.Description, Completed: m.Completed,
		CompletedAt: m.CompletedAt, Priority: string(m.Priority), Tags: []string(m.Tags), DueDate: m.DueDate,
		Version: m.Version, NextTaskID: m.NextTaskID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	if m.Recurrence != nil {
		r := string(*m.Recurrence)
		t.Recurrence = &r
	}
	return t
}

// same compares two views of a task field by field, times as instants; it
// returns what differs, or "".
func same(a, b task) string {
	var diff []string
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	tm := func(p *time.Time) string {
		if p == nil {
			return "<nil>"
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	id := func(p *int64) string {
		if p == nil {
			return "<nil>"
		}
		return fmt.Sprint(*p)
	}
	check := func(name, x, y string) {
		if x != y {
			diff = append(diff, fmt.Sprintf("%s %q != %q", name, x, y))
		}
	}
	check("user_id", a.UserID, b.UserID)
	check("title", a.Title, b.Title)
	check("description", str(a.Description), str(b.Description))
	check("completed", fmt.Sprint(a.Completed), fmt.Sprint(b.Completed))
	check("completed_at", tm(a.CompletedAt), tm(b.CompletedAt))
	check("priority", a.Priority, b.Priority)
	check("tags", strings.Join(a.Tags, "|"), strings.Join(b.Tags, "|"))
	check("due_date", tm(a.DueDate), tm(b.DueDate))
	check("recurrence", str(a.Recurrence), str(b.Recurrence))
	check("version", fmt.Sprint(a.Version), fmt.Sprint(b.Version))
	check("next_task_id", id(a.NextTaskID), id(b.NextTaskID))
	check("created_at", tm(&a.CreatedAt), tm(&b.CreatedAt))
	check("updated_at", tm(&a.UpdatedAt), tm(&b.UpdatedAt))
	return strings.Join(diff, "; ")
}
