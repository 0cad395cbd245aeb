package models

import "time"

// Clock tells the time; time.Now in production, a fixed clock in tests.
// main makes the one the service runs with and passes it on.
type Clock func() time.Time

// Now is the clock's time as stored: UTC, to the microsecond that PostgreSQL
// keeps, so a task read back equals the one a write response showed.
func (c Clock) Now() time.Time { return c().UTC().Truncate(time.Microsecond) }
