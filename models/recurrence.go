package models

import "time"

// Valid reports whether r is one of the recurrences a task may have.
func (r Recurrence) Valid() bool { return r == Daily || r == Weekly || r == Monthly }

// Next is the due date of the occurrence after one due at due: one day,
// seven days or one calendar month later, at the same time of day, computed
// in UTC (the zone due dates are stored in). It reports false for a value
// that is not a known recurrence.
//
// A monthly step that would land past the end of the next month is clamped
// to that month's last day — Jan 31 → Feb 28 (Feb 29 in a leap year),
// Mar 31 → Apr 30 — as Todoist and calendar apps do, rather than Go's
// AddDate normalisation, which would turn Jan 31 into Mar 3 and skip
// February. Each step starts from the previous due date, so a series that
// was clamped stays on the earlier day (Jan 31 → Feb 28 → Mar 28).
func (r Recurrence) Next(due time.Time) (time.Time, bool) {
	due = due.UTC()
	switch r {
	case Daily:
		return due.AddDate(0, 0, 1), true
	case Weekly:
		return due.AddDate(0, 0, 7), true
	case Monthly:
		y, m, d := due.Date()
		h, mi, s := due.Clock()
		// Day 0 of the month after next is the last day of next month.
		last := time.Date(y, m+2, 0, 0, 0, 0, 0, time.UTC).Day()
		return time.Date(y, m+1, min(d, last), h, mi, s, due.Nanosecond(), time.UTC), true
	}
	return due, false
}

// NextOccurrence is the task that completing t, a recurring task with a due
// date, creates: the same text, priority, tags and recurrence, in the same
// list and under the same parent, pending, due one period later, with its
// reminder (armed) shifted by as much as the due date. It reports false for
// a task that does not repeat, and
// for one whose next due date would fall after MaxTime: the series ends
// there rather than store a time that cannot be read back.
func (t *Task) NextOccurrence() (Task, bool) {
	if t.Recurrence == nil || t.DueDate == nil {
		return Task{}, false
	}
	due, ok := t.Recurrence.Next(*t.DueDate)
	if !ok || !Storable(due) {
		return Task{}, false
	}
	return Task{
		UserID:      t.UserID,
		Title:       t.Title,
		Description: t.Description,
		Priority:    t.Priority,
		Tags:        append(Tags{}, t.Tags...),
		DueDate:     &due,
		RemindAt:    t.nextReminder(due),
		Recurrence:  t.Recurrence,
		ListID:      t.ListID,
		ParentID:    t.ParentID,
	}, true
}
