package models

import (
	"cmp"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The change feed: every change to a task or a list gives it the next
// position in its owner's history (the change_seq column), and a delete
// leaves a Tombstone with its own position. The database assigns
// positions, in triggers, in the writing transaction (database/feed.go);
// the columns are not fields of Task or List, so GORM never writes them.

// Tombstone records a deleted task or list at the position of its delete.
type Tombstone struct {
	UserID string `gorm:"primaryKey;type:text"`
	Seq    int64  `gorm:"primaryKey;autoIncrement:false"`
	// TaskID is the id of the deleted row: a task's, or a list's when Kind
	// is TombstoneList (the column is older than lists in the feed).
	TaskID    int64     `gorm:"not null"`
	Kind      string    `gorm:"type:varchar(8);not null;default:task"`
	DeletedAt time.Time `gorm:"not null;index:idx_task_tombstones_deleted"`
}

// Kinds of Tombstone.
const (
	TombstoneTask = "task"
	TombstoneList = "list"
)

// TableName is task_tombstones, the table's name from before lists had
// positions.
func (Tombstone) TableName() string { return "task_tombstones" }

// TombstonesOwnedBy is OwnedBy for task_tombstones.
func TombstonesOwnedBy(userID string) func(*gorm.DB) *gorm.DB {
	return ownedBy("task_tombstones.user_id", userID)
}

// Change is one entry of a feed page, at its position: a task or a list in
// its latest state, or the id of a deleted one.
type Change struct {
	Seq  int64
	Task *Task    // a task's upsert
	List *ListRow // a list's upsert
	// TaskID or ListID is the deleted row's id when Task and List are nil.
	TaskID, ListID int64
}

// FeedSources are the statements a feed page reads, each bound to the
// user by the caller.
type FeedSources struct {
	Tasks, Lists, Tombstones *gorm.DB
}

// ChangesAfter reads the first limit changes in (since, upTo], in position
// order, from the user's tasks, lists and tombstones. A row appears once,
// in its latest state, since it holds only its last position. upTo is a
// committed head: the statements see different moments, and a change that
// commits between them is above it, for the next page. Tombstones at or
// below known are left out: the reader holds nothing deleted there (a full
// sync's known is the head it started at; see controllers/feed.go).
func ChangesAfter(src FeedSources, since, known, upTo int64, limit int) ([]Change, error) {
	changes, err := taskChanges(src.Tasks, since, upTo, limit)
	if err != nil {
		return nil, err
	}
	var lists []listChange
	err = src.Lists.Select(listColumns+", lists.change_seq", false).
		Where("lists.change_seq > ? AND lists.change_seq <= ?", since, upTo).
		Order("lists.change_seq").Limit(limit).Scan(&lists).Error
	if err != nil {
		return nil, err
	}
	for i := range lists {
		changes = append(changes, Change{Seq: lists[i].ChangeSeq, List: &lists[i].ListRow, ListID: lists[i].ID})
	}
	if known < upTo {
		var dead []Tombstone
		err = src.Tombstones.Select("task_tombstones.seq, task_tombstones.task_id, task_tombstones.kind").
			Where("task_tombstones.seq > ? AND task_tombstones.seq <= ?", max(since, known), upTo).
			Order("task_tombstones.seq").Limit(limit).Find(&dead).Error
		if err != nil {
			return nil, err
		}
		for _, d := range dead {
			if d.Kind == TombstoneList {
				changes = append(changes, Change{Seq: d.Seq, ListID: d.TaskID})
			} else {
				changes = append(changes, Change{Seq: d.Seq, TaskID: d.TaskID})
			}
		}
	}
	// Each source is in order and at most limit long: the first limit of
	// their union are the page.
	slices.SortFunc(changes, func(a, b Change) int { return cmp.Compare(a.Seq, b.Seq) })
	return changes[:min(len(changes), limit)], nil
}

// listChange is a list row with its position.
type listChange struct {
	ListRow
	ChangeSeq int64
}

func taskChanges(tasks *gorm.DB, since, upTo int64, limit int) ([]Change, error) {
	rows, err := tasks.Select(TaskColumns+", tasks.change_seq").
		Where("tasks.change_seq > ? AND tasks.change_seq <= ?", since, upTo).
		Order("tasks.change_seq").Limit(limit).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var changes []Change
	for rows.Next() {
		t := &Task{}
		var seq int64
		if err := ScanTask(rows, t, &seq); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Seq: seq, Task: t, TaskID: t.ID})
	}
	return changes, rows.Err()
}
