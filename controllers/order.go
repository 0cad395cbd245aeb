package controllers

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"todo-api/internal/orderkey"
	"todo-api/models"
)

// placement is where a moved row goes among its future siblings.
type placement struct {
	table string
	// siblings starts a statement on the siblings, the moved row excluded.
	siblings func() *gorm.DB
	// after is the sibling the row goes after; nil puts it first.
	after *models.Placed
	// renumber respaces the siblings' keys (database.Tx.Renumber) and
	// reread reads after's key again once it has.
	renumber func() error
	reread   func(id int64) (models.OrderKey, error)
	now      time.Time
}

// key returns the order key for the row, without touching a sibling: a
// key between after's and the next sibling's (orderkey.KeyBetween). Only
// when none fits in orderkey.MaxLen — two siblings share a key, or the gap
// has been split very often — are the siblings renumbered, once.
func (p placement) key() (models.OrderKey, error) {
	for attempt := 0; ; attempt++ {
		var lo, hi string
		if p.after == nil {
			first, ok, err := models.FirstPlaced(p.siblings(), p.table)
			if err != nil {
				return "", err
			}
			if !ok {
				return models.OrderKey(orderkey.ForTime(p.now)), nil
			}
			hi = string(first.Position)
		} else {
			lo = string(p.after.Position)
			next, ok, err := models.FirstPlaced(p.siblings().Scopes(models.PlacedAfter(p.table, *p.after)), p.table)
			if err != nil {
				return "", err
			}
			if ok {
				hi = string(next.Position)
			}
		}
		k, err := orderkey.KeyBetween(lo, hi)
		if err == nil && len(k) <= orderkey.MaxLen {
			return models.OrderKey(k), nil
		}
		if attempt > 0 {
			return "", fmt.Errorf("no order key between %q and %q after renumbering", lo, hi)
		}
		if err := p.renumber(); err != nil {
			return "", err
		}
		if p.after != nil {
			pos, err := p.reread(p.after.ID)
			if err != nil {
				return "", err
			}
			p.after = &models.Placed{Position: pos, ID: p.after.ID}
		}
	}
}
