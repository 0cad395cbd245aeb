package database

import (
	"context"
	"database/sql"
	"runtime"
	"strconv"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
)

// A costly read is one whose work grows with the user's number of tasks: a
// list, a search, the counts (middleware.Costly decides, and marks the
// request's context with Costly). The database treats it apart so that one
// user's slow reads do not stall everyone else's quick ones:
//
//   - On SQLite the service runs everything on one connection (see Open),
//     so a 0.6 s search made every other request wait 0.6 s. Costly reads
//     run on connections of their own instead (costlyReaders of them, read
//     only; WAL lets them read while the main connection writes), and the
//     main connection stays free for the quick requests.
//   - On PostgreSQL a costly statement carries a server-side
//     statement_timeout equal to what is left of the request's deadline, set
//     with set_config(..., true) in the statement's own round trip (see
//     rlsConn.prefix), so that it lasts only for the statement's implicit
//     transaction and is safe behind a transaction-mode pooler. The
//     deadline's cancel request already ends the statement; the timeout
//     ends it too when the cancel request does not get through (a pooler
//     that drops it, a full cancel queue).

type costlyKey struct{}

// Costly marks ctx's statements as a costly read.
func Costly(ctx context.Context) context.Context {
	return context.WithValue(ctx, costlyKey{}, true)
}

func isCostly(ctx context.Context) bool {
	c, _ := ctx.Value(costlyKey{}).(bool)
	return c
}

// costlyReaders is how many connections SQLite's costly reads share: one
// fewer than the Go scheduler's processors, and at least one. SQLite runs
// inside the service's own process, so a scan on every processor left the
// quick requests' goroutines waiting for one (Go preempts a running
// goroutine only every 10 ms): measured with two readers on two cores, a
// one-task GET went from 1.4 ms to 12 ms at the median. With a processor
// always free of scans it stays within a few milliseconds.
func costlyReaders() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// setTimeoutSQL is a costly statement's server-side statement_timeout, in
// milliseconds, for its own implicit transaction.
const setTimeoutSQL = "SELECT set_config('statement_timeout', $1, true)"

// statementTimeout is the setting for what is left of ctx's deadline,
// rounded up to a millisecond; false without a deadline.
func statementTimeout(ctx context.Context) (string, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return "", false
	}
	ms := max(1, (time.Until(deadline)+time.Millisecond-1)/time.Millisecond)
	return strconv.FormatInt(int64(ms), 10), true
}

// readerPool is SQLite's connection pool for GORM: statements whose
// context is Costly go to readers, everything else (transactions, the group
// commit's connection, pings) to main.
type readerPool struct {
	main, readers *sql.DB
}

// useReaders routes db's costly reads to their own connections of dsn.
func useReaders(db *gorm.DB, dsn string) error {
	main, err := db.DB()
	if err != nil {
		return err
	}
	readers, err := sql.Open(sqlite.DriverName, sqliteDSN(dsn)+"&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	readers.SetMaxOpenConns(costlyReaders())
	readers.SetMaxIdleConns(costlyReaders())
	pool := &readerPool{main: main, readers: readers}
	db.ConnPool = pool
	db.Statement.ConnPool = pool
	return nil
}

func (p *readerPool) pick(ctx context.Context) *sql.DB {
	if isCostly(ctx) {
		return p.readers
	}
	return p.main
}

// PrepareContext prepares on the pool ctx picks.
func (p *readerPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.pick(ctx).PrepareContext(ctx, query)
}

// ExecContext runs on main: a costly read never executes a write.
func (p *readerPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.main.ExecContext(ctx, query, args...)
}

// QueryContext runs on the pool ctx picks.
func (p *readerPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.pick(ctx).QueryContext(ctx, query, args...)
}

// QueryRowContext runs on the pool ctx picks.
func (p *readerPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.pick(ctx).QueryRowContext(ctx, query, args...)
}

// BeginTx begins on main, the only connection that writes.
func (p *readerPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return p.main.BeginTx(ctx, opts)
}

// GetDBConn is main, for GORM's DB(): pings, metrics, the group commit.
func (p *readerPool) GetDBConn() (*sql.DB, error) { return p.main, nil }

// closeReaders closes db's costly readers, if it has any.
func closeReaders(db *gorm.DB) error {
	if p, ok := db.ConnPool.(*readerPool); ok {
		return p.readers.Close()
	}
	return nil
}
