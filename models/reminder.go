package models

import (
	"time"

	"gorm.io/gorm"
)

// ArmedReminder is the condition "the task's reminder is set, has not
// fired, and the task is pending": what the scheduler fires once
// remind_at has passed, what reminder=pending lists and what
// reminders_pending counts. It is idx_tasks_remind's predicate too
// (task.go), so that the planner serves every one of them from that index.
// Completing a task disarms its reminder without clearing remind_at, so
// reopening it re-arms a reminder that has not fired.
const ArmedReminder = "tasks.remind_at IS NOT NULL AND tasks.reminded_at IS NULL AND NOT tasks.completed"

// ReminderPending narrows a statement to tasks whose reminder is armed.
func ReminderPending(db *gorm.DB) *gorm.DB { return db.Where(ArmedReminder) }

// LateAfter is how long after its remind_at a reminder may fire and still
// be on time. Within it are the scheduler's tick (at most a second), a
// busy database and a restart of the instance that would have fired it;
// past it the reminder is late (the event says "late": true), as one that
// came due while every instance was down.
const LateAfter = 5 * time.Second

// ReminderLate reports whether a reminder for remindAt that fires at
// firedAt is late.
func ReminderLate(remindAt, firedAt time.Time) bool { return firedAt.Sub(remindAt) > LateAfter }

// ReminderColumns is the part of an update's column map that sets
// remind_at to at (nil: no reminder). A changed remind_at re-arms the
// reminder (reminded_at back to null); the same one keeps reminded_at,
// so that a PUT which sends back what it read does not fire it again.
// Clearing it clears reminded_at too: a task without a reminder has none
// that fired.
func ReminderColumns(at *time.Time) map[string]any {
	if at == nil {
		return map[string]any{"remind_at": nil, "reminded_at": nil}
	}
	// The CASE reads the row as it was before the UPDATE, in both
	// databases; the parameter takes remind_at's type on PostgreSQL.
	return map[string]any{
		"remind_at":   *at,
		"reminded_at": gorm.Expr("CASE WHEN remind_at IS DISTINCT FROM ? THEN NULL ELSE reminded_at END", *at),
	}
}

// nextReminder is the remind_at of the occurrence after t: as far before
// (or after) its due date next as t's was before t's, so that "remind me a
// day before" stays a day before the next due date, monthly clamping
// included. Nil when t has no reminder or the shifted time cannot be stored.
func (t *Task) nextReminder(next time.Time) *time.Time {
	if t.RemindAt == nil || t.DueDate == nil {
		return nil
	}
	at := next.Add(t.RemindAt.Sub(*t.DueDate)).UTC()
	if !Storable(at) {
		return nil
	}
	return &at
}
