package models

import (
	"time"

	"gorm.io/gorm"
)

// The change feed: every change to a task gives it the next position in its
// owner's history (tasks.change_seq), and a delete leaves a Tombstone with
// its own position. The database assigns positions, in triggers, in the
// writing transaction (database/feed.go); the columns are not fields of
// Task, so GORM never writes them.

// Tombstone records a deleted task at the position of its delete.
type Tombstone struct {
	UserID    string    `gorm:"primaryKey;type:text"`
	Seq       int64     `gorm:"primaryKey;autoIncrement:false"`
	TaskID    int64     `gorm:"not null"`
	DeletedAt time.Time `gorm:"not null;index:idx_task_tombstones_deleted"`
}

// TableName is task_tombstones: the feed may hold other kinds of rows later.
func (Tombstone) TableName() string { return "task_tombstones" }

// TombstonesOwnedBy is OwnedBy for task_tombstones.
func TombstonesOwnedBy(userID string) func(*gorm.DB) *gorm.DB {
	return ownedBy("task_tombstones.user_id", userID)
}

// Change is one entry of a feed page: a task in its latest state, or the id
// of a deleted one, at its position.
type Change struct {
	Seq    int64
	Task   *Task // nil for a delete
	TaskID int64
}

// ChangesAfter reads the first limit changes in (since, upTo], in position
// order, from the user's tasks and tombstones (each a statement the caller
// has bound to the user). A task appears once, in its latest state, since
// its row holds only its last position. upTo is a committed head: the two
// statements see different moments, and a change that commits between
// them is above it, for the next page. Tombstones are left out when since
// is 0, a full sync, whose reader has no task to delete.
func ChangesAfter(tasks, tombstones *gorm.DB, since, upTo int64, limit int) ([]Change, error) {
	rows, err := tasks.Select(TaskColumns+", tasks.change_seq").
		Where("tasks.change_seq > ? AND tasks.change_seq <= ?", since, upTo).
		Order("tasks.change_seq").Limit(limit).Rows()
	if err != nil {
		return nil, err
	}
	var changes []Change
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			t := &Task{}
			var seq int64
			if err := ScanTask(rows, t, &seq); err != nil {
				return err
			}
			changes = append(changes, Change{Seq: seq, Task: t, TaskID: t.ID})
		}
		return rows.Err()
	}()
	if err != nil || since == 0 {
		return changes, err
	}
	var dead []Tombstone
	err = tombstones.Select("task_tombstones.seq, task_tombstones.task_id").
		Where("task_tombstones.seq > ? AND task_tombstones.seq <= ?", since, upTo).
		Order("task_tombstones.seq").Limit(limit).Find(&dead).Error
	if err != nil {
		return nil, err
	}
	return mergeBySeq(changes, dead, limit), nil
}

// mergeBySeq merges two position-ordered lists and keeps the first limit.
func mergeBySeq(live []Change, dead []Tombstone, limit int) []Change {
	out := make([]Change, 0, min(limit, len(live)+len(dead)))
	i, j := 0, 0
	for len(out) < limit && (i < len(live) || j < len(dead)) {
		if j == len(dead) || i < len(live) && live[i].Seq < dead[j].Seq {
			out = append(out, live[i])
			i++
		} else {
			out = append(out, Change{Seq: dead[j].Seq, TaskID: dead[j].TaskID})
			j++
		}
	}
	return out
}
