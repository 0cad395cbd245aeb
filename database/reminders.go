package database

// The reminder scheduler. Every instance runs one and none leads: each
// looks for reminders that are due and fires them through Store.Write, one
// transaction per user, whose UPDATE sets reminded_at only where it is
// still null. That transaction takes the user's advisory lock like every
// other write of the user (rls.go), so two instances that found the same
// reminders fire them one after the other, and the second finds nothing
// left to set: each reminder fires once, and a reminder's firing is a
// change like any other — version + 1, a new feed position from the
// trigger, row-level security for its user. An instance that dies leaves
// nothing claimed: an uncommitted UPDATE is undone, and the others (or the
// next start) fire what it did not commit.
//
// Finding which users have due reminders reads across users, which
// row-level security forbids the serving role. On PostgreSQL that look is
// the function todo_armed_reminders: it runs as the tables' owner and
// returns only user ids and times of armed reminders, never a task
// (installReminders).

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"todo-api/models"
)

// ReminderTick is the longest the scheduler sleeps between two looks at
// the table: a reminder another instance armed, or one whose remind_at a
// client set to the past, fires at most this late. Between ticks it wakes
// for the nearest remind_at it knows of.
const ReminderTick = time.Second

// reminderBatch bounds the rows one look and one user's transaction take.
const reminderBatch = 500

// FiredReminder is a reminder that fired: its task as it is afterwards
// (reminded_at set, version moved on) and whether it fired late.
type FiredReminder struct {
	UserID string
	Task   models.Task
	Late   bool
}

// ReminderHook is told of each reminder after the transaction that fired
// it has committed.
type ReminderHook func(user string, t models.Task, late bool)

// Reminders fires due reminders; main runs one per instance (Run).
type Reminders struct {
	store *Store
	clock models.Clock
	hook  ReminderHook
	log   *slog.Logger
}

// NewReminders is a scheduler that writes through store, tells the time
// by clock and calls hook (which may be nil) for every reminder it fires.
func NewReminders(store *Store, clock models.Clock, hook ReminderHook, log *slog.Logger) *Reminders {
	return &Reminders{store: store, clock: clock, hook: hook, log: log}
}

// armed is one armed reminder the look found.
type armed struct {
	UserID   string
	RemindAt time.Time
}

// Run fires reminders until ctx ends: a look at once (reminders that came
// due while the service was down fire at start), then after each look a
// sleep until the nearest remind_at, at most ReminderTick.
func (r *Reminders) Run(ctx context.Context) {
	for {
		wait := ReminderTick
		now := r.clock.Now()
		if _, err := r.fire(ctx, now); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("firing reminders", "error", err.Error())
		} else if next, ok, err := r.next(ctx, now); err == nil && ok {
			// The nearest one after the look's own time: one that came
			// due while the look ran is next, at once. A reminder due
			// already is also one that another instance is firing right
			// now; look again shortly then, not in a busy loop.
			wait = min(wait, max(next.Sub(r.clock.Now()), 20*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Fire fires every reminder due at the clock's time now, calls the hook
// for each after its commit, and returns them. Reminders that another
// instance is firing at the same moment are left to it.
func (r *Reminders) Fire(ctx context.Context) ([]FiredReminder, error) {
	return r.fire(ctx, r.clock.Now())
}

func (r *Reminders) fire(ctx context.Context, now time.Time) ([]FiredReminder, error) {
	var all []FiredReminder
	for {
		due, err := r.armed(ctx, time.Time{}, now, reminderBatch)
		if err != nil || len(due) == 0 {
			return all, err
		}
		progress := false
		seen := map[string]bool{}
		for _, a := range due {
			if seen[a.UserID] {
				continue
			}
			seen[a.UserID] = true
			fired, err := r.fireUser(ctx, a.UserID, now)
			if err != nil {
				return all, err
			}
			for _, f := range fired {
				if r.hook != nil {
					r.hook(f.UserID, f.Task, f.Late)
				}
			}
			progress = progress || len(fired) > 0
			all = append(all, fired...)
		}
		if !progress || len(due) < reminderBatch {
			return all, nil
		}
	}
}

// next is the nearest remind_at after after of an armed reminder; false
// when none is armed.
func (r *Reminders) next(ctx context.Context, after time.Time) (time.Time, bool, error) {
	a, err := r.armed(ctx, after, models.MaxTime, 1)
	if err != nil || len(a) == 0 {
		return time.Time{}, false, err
	}
	return a[0].RemindAt, true, nil
}

// armed reads up to limit armed reminders with after < remind_at <= upto
// (after zero: no lower bound), earliest first, from idx_tasks_remind.
func (r *Reminders) armed(ctx context.Context, after, upto time.Time, limit int) ([]armed, error) {
	var out []armed
	db := r.store.db.WithContext(ctx)
	if dialectOf(r.store.db) == postgresDialect {
		if after.IsZero() {
			after = models.MinTime.Add(-time.Microsecond)
		}
		err := db.Raw("SELECT user_id, remind_at FROM todo_armed_reminders(?, ?, ?)", after, upto, limit).Scan(&out).Error
		return out, err
	}
	q := db.Table("tasks").Select("user_id, remind_at").Where(models.ArmedReminder).
		Where("tasks.remind_at <= ?", upto).Order("tasks.remind_at").Limit(limit)
	if !after.IsZero() {
		q = q.Where("tasks.remind_at > ?", after)
	}
	return out, q.Scan(&out).Error
}

// fireUser fires userID's reminders due at now in one transaction of the
// write door. The UPDATE's own WHERE is the claim: a reminder fired
// meanwhile (by another instance, whose transaction the user's lock made
// this one wait for) no longer matches it. SKIP LOCKED passes over rows
// that another transaction holds, which fires them if they stay armed.
func (r *Reminders) fireUser(ctx context.Context, userID string, now time.Time) ([]FiredReminder, error) {
	lock := " FOR UPDATE SKIP LOCKED"
	if dialectOf(r.store.db) != postgresDialect {
		lock = "" // one writer at a time
	}
	var fired []FiredReminder
	err := r.store.Write(ctx, userID, func(tx Tx) error {
		fired = fired[:0]
		rows, err := tx.tx.Raw(`UPDATE tasks SET reminded_at = ?, updated_at = ?, version = version + 1
			WHERE tasks.user_id = ? AND tasks.id IN (
				SELECT tasks.id FROM tasks WHERE tasks.user_id = ? AND `+models.ArmedReminder+` AND tasks.remind_at <= ?
				ORDER BY tasks.remind_at LIMIT ?`+lock+`)
			RETURNING `+models.TaskColumns, now, now, userID, userID, now, reminderBatch).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t models.Task
			if err := models.ScanTask(rows, &t); err != nil {
				return err
			}
			fired = append(fired, FiredReminder{UserID: userID, Task: t, Late: models.ReminderLate(*t.RemindAt, now)})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return fired, nil
}

// installReminders (re)creates todo_armed_reminders when its source is not
// the current one, inside the migration's transaction. It runs as its
// owner, the tables' (SECURITY DEFINER), and turns app.reminder_scan on for
// its own query only, which under row-level security the policy
// todo_reminder_scan (rlsmigrate.go) admits for the owner's reads alone;
// the serving role may call it and learns user ids and times, nothing of
// a task. The setting is set in the body, not with a SET clause: since
// PostgreSQL 15 a function's SET of a custom parameter needs a superuser
// to create it, and a managed database's owner (Neon's) is none.
func installReminders(tx *gorm.DB) error {
	current, err := pgFunctionSource(tx, "todo_armed_reminders")
	if err != nil || current == pgArmedRemindersBody {
		return err
	}
	return tx.Exec(`CREATE OR REPLACE FUNCTION todo_armed_reminders(after timestamptz, upto timestamptz, lim integer)
		RETURNS TABLE (user_id text, remind_at timestamptz)
		LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT
		AS $fn$` + pgArmedRemindersBody + `$fn$`).Error
}

// pgArmedRemindersQuery is todo_armed_reminders' query: a range of
// idx_tasks_remind, whose predicate its conditions imply.
const pgArmedRemindersQuery = `SELECT t.user_id, t.remind_at FROM tasks AS t
	WHERE t.remind_at > after AND t.remind_at <= upto AND t.reminded_at IS NULL AND NOT t.completed
	ORDER BY t.remind_at LIMIT lim`

// pgArmedRemindersBody runs the query with the scan setting on around it
// (local to the transaction, and off again after).
const pgArmedRemindersBody = `
	#variable_conflict use_column
	BEGIN
		PERFORM set_config('app.reminder_scan', 'on', true);
		RETURN QUERY ` + pgArmedRemindersQuery + `;
		PERFORM set_config('app.reminder_scan', 'off', true);
	END`

// reminderScanPolicy lets todo_armed_reminders, and only it, see every
// user's armed reminders under forced row-level security: it is for the
// owner's role (the function's) and the setting that the function's SET
// clause turns on for its own run.
const reminderScanPolicy = `CREATE POLICY todo_reminder_scan ON tasks FOR SELECT TO CURRENT_USER
	USING (current_setting('app.reminder_scan', true) = 'on' AND remind_at IS NOT NULL AND reminded_at IS NULL AND NOT completed)`
