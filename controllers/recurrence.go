package controllers

import (
	"todo-api/database"
	"todo-api/models"
	"todo-api/problem"
)

// errRecurringWithoutDue is the rule that a recurring task has a due date:
// the next occurrence's due date is computed from it.
var errRecurringWithoutDue = problem.Invalid("due_date", "is required when recurrence is set")

// continueSeries runs inside an update's transaction, after the UPDATE,
// with t as the row now is. It refuses a write that leaves a recurring task
// without a due date, and when the write completed a recurring task that has
// no next occurrence yet, it creates that occurrence and records its id in
// t.NextTaskID. A task that is reopened and completed again keeps its
// next_task_id, so it never creates a second copy of the same occurrence.
func continueSeries(tx database.Tx, t *models.Task, cols map[string]any) error {
	_, setsCompleted := cols["completed"]
	_, setsRecurrence := cols["recurrence"]
	_, setsDue := cols["due_date"]
	completing := setsCompleted && t.Completed
	if t.Recurrence == nil || !(completing || setsRecurrence || setsDue) {
		return nil
	}
	if t.DueDate == nil {
		return errRecurringWithoutDue
	}
	if !completing || t.NextTaskID != nil {
		return nil
	}
	next, ok := t.NextOccurrence()
	if !ok {
		// A value written before validation existed: nothing to repeat.
		return nil
	}
	if err := tx.Tasks().Create(&next).Error; err != nil {
		return err
	}
	if err := copySubtasks(tx, t, &next); err != nil {
		return err
	}
	// UpdateColumn skips the hooks: this is part of the write that already
	// bumped the version, not a second change.
	err := tx.Tasks().Scopes(models.TaskID(t.ID)).UpdateColumn("next_task_id", next.ID).Error
	if err != nil {
		return err
	}
	t.NextTaskID = &next.ID
	return nil
}

// copySubtasks gives next, the next occurrence of the recurring parent t,
// pending copies of t's subtasks in the same order, in the same
// transaction as the completion.
func copySubtasks(tx database.Tx, t, next *models.Task) error {
	if t.ParentID != nil {
		return nil
	}
	var subs []models.Task
	if err := tx.Tasks().Scopes(models.SubtasksOf(t.ID)).Find(&subs).Error; err != nil {
		return err
	}
	if len(subs) == 0 {
		return nil
	}
	copies := make([]models.Task, len(subs))
	for i, s := range subs {
		copies[i] = models.Task{
			UserID: s.UserID, Title: s.Title, Description: s.Description, Priority: s.Priority,
			Tags: append(models.Tags{}, s.Tags...), DueDate: s.DueDate,
			ListID: next.ListID, ParentID: &next.ID, Position: s.Position,
		}
	}
	return tx.Tasks().Create(&copies).Error
}
