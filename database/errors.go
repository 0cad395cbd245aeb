package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err comes from a database that cannot be
// reached or did not answer in time: a failure worth retrying shortly, not
// a bug. The HTTP layer answers it with 503 (server/errors.go).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.As(err, &netErr),
		errors.As(err, &connectErr),
		pgconn.Timeout(err):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-03: admin shutdown, crash
		// shutdown, cannot connect now; 53300: too many connections;
		// 57014: query cancelled, which is what the server answers when the
		// request's deadline made pgx send it a cancel request.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") ||
			pgErr.Code == "53300" || pgErr.Code == "57014"
	}
	// SQLite reports a writer that waited out busy_timeout as "database is locked".
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// Duplicate reports whether err is a unique index refusing a row (a list
// name the user has already, say): PostgreSQL's 23505, SQLite's UNIQUE
// constraint error.
func Duplicate(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// BrokenReference reports whether err is a foreign key refusing a row: a
// task filed into a list that a concurrent request deleted, or a list
// deleted while a concurrent request filed a task into it. PostgreSQL's
// 23503, SQLite's FOREIGN KEY constraint error.
func BrokenReference(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}
