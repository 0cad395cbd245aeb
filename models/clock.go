package models

import "time"

// Clock tells the time; time.Now in production, a fixed clock in tests.
// main makes the one the service runs with and passes it on.
type Clock func() time.Time

// Now is the clock's time as stored: UTC, to the microsecond that PostgreSQL
// keeps, so a task read back equals the one a write response showed.
func (c Clock) Now() time.Time { return c().UTC().Truncate(time.Microsecond) }

// The instants a stored time may take: years 0001 to 9999 in UTC. Outside
// them a time cannot be written back as RFC 3339 (Go's JSON encoding refuses
// years past 9999, and year 0 is 1 BC), and SQLite, which keeps times as
// text, would compare a five-digit year wrongly. Input outside is refused.
var (
	MinTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
)

// Storable reports whether t, truncated to the microsecond as stored, lies
// between MinTime and MaxTime.
func Storable(t time.Time) bool {
	t = t.UTC().Truncate(time.Microsecond)
	return !t.Before(MinTime) && !t.After(MaxTime)
}
