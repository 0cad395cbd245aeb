package models

import "gorm.io/gorm"

// Placed is a row's place in a manual order: its key, then its id.
type Placed struct {
	Position OrderKey
	ID       int64
}

// The scopes below read a manual order. table is "tasks" or "lists",
// always a constant of the caller, never client input.

// InManualOrder sorts by position, then id: the total order every reader
// sees, also where two concurrent moves gave two rows the same key.
func InManualOrder(table string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Order(table + ".position").Order(table + ".id") }
}

// PlacedAfter narrows a statement to the rows after p in manual order.
func PlacedAfter(table string, p Placed) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.Where("("+table+".position > ? OR ("+table+".position = ? AND "+table+".id > ?))", p.Position, p.Position, p.ID)
	}
}

// NotRow narrows a statement to the rows other than id.
func NotRow(table string, id int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where(table+".id <> ?", id) }
}

// FirstPlaced reads the place of the first row db selects in manual
// order; ok is false when it selects none.
func FirstPlaced(db *gorm.DB, table string) (p Placed, ok bool, err error) {
	var rows []Placed
	err = db.Scopes(InManualOrder(table)).Select(table + ".position, " + table + ".id").Limit(1).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return p, false, err
	}
	return rows[0], true, nil
}

// PlacedBefore narrows a statement to the rows before p in manual order.
func PlacedBefore(table string, p Placed) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.Where("("+table+".position < ? OR ("+table+".position = ? AND "+table+".id < ?))", p.Position, p.Position, p.ID)
	}
}

// LastPlaced is FirstPlaced from the other end.
func LastPlaced(db *gorm.DB, table string) (p Placed, ok bool, err error) {
	var rows []Placed
	err = db.Order(table + ".position DESC").Order(table + ".id DESC").
		Select(table + ".position, " + table + ".id").Limit(1).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return p, false, err
	}
	return rows[0], true, nil
}
