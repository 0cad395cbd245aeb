package database

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strconv"
	"sync/atomic"
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
//     of a user with many tasks run on connections of their own instead
//     (costlyReaders of them, read only; WAL lets them read while the main
//     connection writes), and the main connection stays free for the quick
//     requests. Those of a user with few tasks stay on the main
//     connection, where they are quick (see smallUserTasks).
//   - On PostgreSQL a costly statement carries a server-side
//     statement_timeout equal to what is left of the request's deadline, set
//     with set_config(..., true) in the statement's own round trip (see
//     rlsConn.prefix), so that it lasts only for the statement's implicit
//     transaction and is safe behind a transaction-mode pooler. The
//     deadline's cancel request already ends the statement; the timeout
//     ends it too when the cancel request does not get through (a pooler
//     that drops it, a full cancel queue).

type costlyKey struct{}

// costlyMark is a costly request's mark. On SQLite it also holds which
// connections its reads take, decided at its first statement, so that
// every statement of the request (a page and its total) reads the same
// way and the user's size is looked up once.
type costlyMark struct {
	route atomic.Int32 // 0 undecided, routeMain or routeReaders
}

const (
	routeMain int32 = iota + 1
	routeReaders
)

// Costly marks ctx's statements as a costly read.
func Costly(ctx context.Context) context.Context {
	return context.WithValue(ctx, costlyKey{}, &costlyMark{})
}

func costlyOf(ctx context.Context) *costlyMark {
	m, _ := ctx.Value(costlyKey{}).(*costlyMark)
	return m
}

func isCostly(ctx context.Context) bool { return costlyOf(ctx) != nil }

// smallUserTasks is the most tasks a user may hold for their costly reads
// to stay on SQLite's main connection. A second connection reads at a
// price: SQLite drops a connection's whole page cache whenever another
// connection has committed since its last read, so under writes every
// read there starts cold, and the mixed workload of 100-task users ran at
// a third of its speed with lists on the readers (bench/README, "SQLite:
// the allocator, and where costly reads run"). A thousand tasks is ten
// times the benchmark's users and a hundredth of the starvation test's
// attacker, whose reads still go to the readers.
const smallUserTasks = 1000

// sizeSQL reads a user's number of tasks, kept by the quota triggers.
const sizeSQL = "SELECT tasks FROM user_usage WHERE user_id = ?"

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
// context is Costly go to readers when the user holds more than
// smallUserTasks, everything else (transactions, the group commit's
// connection, pings) to main. sizes answers the look-up of a user's size
// on a connection of its own, so that a costly read never waits for main
// (held by a batch of writes) nor for the readers (held by scans) to learn
// where to go.
type readerPool struct {
	main, readers, sizes *sql.DB
}

// useReaders routes db's costly reads to their own connections of dsn.
func useReaders(db *gorm.DB, dsn string) error {
	main, err := db.DB()
	if err != nil {
		return err
	}
	// Without the memory map: its pages are faulted in again after the
	// cache drops, and the readers ran the list 20 % slower with it.
	readers, err := sql.Open(sqlite.DriverName, sqliteDSN(dsn)+"&_pragma=query_only(1)&_pragma=mmap_size(0)")
	if err != nil {
		return err
	}
	readers.SetMaxOpenConns(costlyReaders())
	readers.SetMaxIdleConns(costlyReaders())
	sizes, err := sql.Open(sqlite.DriverName, sqliteDSN(dsn)+"&_pragma=query_only(1)&_pragma=mmap_size(0)")
	if err != nil {
		return errors.Join(err, readers.Close())
	}
	sizes.SetMaxOpenConns(1)
	sizes.SetMaxIdleConns(1)
	pool := &readerPool{main: main, readers: readers, sizes: sizes}
	db.ConnPool = pool
	db.Statement.ConnPool = pool
	return nil
}

func (p *readerPool) pick(ctx context.Context) *sql.DB {
	m := costlyOf(ctx)
	if m == nil {
		return p.main
	}
	route := m.route.Load()
	if route == 0 {
		route = routeReaders
		if s, ok := scopeOf(ctx); ok && s.user != "" && p.small(ctx, s.user) {
			route = routeMain
		}
		m.route.Store(route)
	}
	if route == routeMain {
		return p.main
	}
	return p.readers
}

// small reports whether user holds at most smallUserTasks tasks. A failed
// look-up counts as large: the readers are always correct, only slower.
func (p *readerPool) small(ctx context.Context, user string) bool {
	var n int64
	err := p.sizes.QueryRowContext(ctx, sizeSQL, user).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return true // no task yet
	}
	return err == nil && n <= smallUserTasks
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
		return errors.Join(p.readers.Close(), p.sizes.Close())
	}
	return nil
}
