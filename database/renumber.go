package database

import (
	"time"

	"gorm.io/gorm"

	"todo-api/internal/orderkey"
)

// Renumber gives the rows that group selects (a statement started with
// t.Tasks() or t.Lists() and narrowed to one group of siblings) fresh,
// evenly spaced keys in their current order, in one statement. A move
// calls it in the rare case that no short key fits where the row goes
// (repeated moves into one gap, or two rows sharing a key): the keys
// change, so each row's version and updated_at move too. table is "tasks"
// or "lists", a constant of the caller.
func (t Tx) Renumber(table string, group *gorm.DB, now time.Time) error {
	key := orderkey.RankedSQL(t.tx.Dialector.Name() == "postgres",
		"row_number() OVER (ORDER BY "+table+".position, "+table+".id)")
	ranked := group.Select(table + ".id, " + key + " AS key")
	return t.tx.Exec("UPDATE "+table+" SET position = ranked.key, version = "+table+".version + 1, updated_at = ? "+
		"FROM (?) AS ranked WHERE "+table+".id = ranked.id AND "+table+".user_id = ?", now, ranked, t.userID).Error
}
