package database

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"

	"todo-api/config"
)

// openPostgres opens a pgx-backed pool for dsn.
//
// Two pgx settings differ from its defaults:
//
//   - The query execution mode is execMode ("cache_describe" unless
//     configured) rather than pgx's cached prepared statements, which a
//     transaction-mode pooler such as Neon's breaks: the next transaction may
//     run on another server connection that never saw the statement.
//     cache_describe caches only the statement's description on the client
//     and runs every execution as one self-contained round trip on the
//     unnamed statement, which any server connection accepts. After a
//     migration changes a result's columns, the first execution on an older
//     connection fails once and pgx drops the stale description. A
//     default_query_exec_mode parameter in the URL itself wins, being the
//     more specific setting.
//   - A query whose context ends (the request's DB_TIMEOUT deadline) is
//     cancelled on the server too (see cancelOnDone), not only abandoned by
//     the client, so a timed-out request does not keep holding locks or a
//     pooler slot, and the connection stays usable afterwards.
func openPostgres(dsn, execMode string, rowLevelSecurity bool) (*sql.DB, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote parts of the URL; keep credentials out.
		return nil, errors.New("the PostgreSQL URL could not be parsed (check its host, port and parameters)")
	}
	if u, err := url.Parse(dsn); err == nil && !u.Query().Has("default_query_exec_mode") {
		mode, err := queryExecMode(execMode)
		if err != nil {
			return nil, err
		}
		cc.DefaultQueryExecMode = mode
	}
	cc.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &cancelOnDone{conn: c}
	}
	// A transaction's BEGIN goes out with its first statement and, with
	// row-level security, each user-scoped statement with its set_config
	// (rls.go).
	return sql.OpenDB(rlsConnector{Connector: stdlib.GetConnector(*cc), rls: rowLevelSecurity}), nil
}

// cancelGrace bounds the cancel request, and the wait for a query that a
// server gone silent never ends, after the query's context has ended.
const cancelGrace = time.Second

// cancelOnDone is the pgx context watcher: when a query's context ends it
// sends the server a cancel request for the query and bounds the wait for it.
// Unlike pgx's own CancelRequestContextWatcherHandler it keeps the cancel
// connection open until the server (or pooler) closes it, rather than hanging
// up as soon as the cancelled query returns: PgBouncer before 1.20 (Debian
// 12 ships 1.18) dies with "disconnect_client(): bad client state" when a
// cancel client hangs up first (pgbouncer issues 801 and 904), which would
// take every client of the pooler down with it.
type cancelOnDone struct {
	conn *pgconn.PgConn
	done chan struct{}
}

// HandleCancel runs when the query's context ends while it is in progress.
func (h *cancelOnDone) HandleCancel(context.Context) {
	// If nothing answers, not even the cancel, unblock the query anyway;
	// the connection is then broken and the pool drops it.
	_ = h.conn.Conn().SetDeadline(time.Now().Add(cancelGrace))
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		ctx, cancel := context.WithTimeout(context.Background(), cancelGrace)
		defer cancel()
		_ = h.conn.CancelRequest(ctx)
		// The server has taken the request, but the backend may act on it
		// a moment later: wait, as pgx does, so that it cannot cancel the
		// connection's next query instead.
		time.Sleep(100 * time.Millisecond)
	}()
}

// HandleUnwatchAfterCancel runs once the cancelled query has returned; the
// connection is used again only after the cancel request is over.
func (h *cancelOnDone) HandleUnwatchAfterCancel() {
	<-h.done
	_ = h.conn.Conn().SetDeadline(time.Time{})
}

func queryExecMode(name string) (pgx.QueryExecMode, error) {
	switch name {
	case "", config.DefaultQueryExecMode:
		return pgx.QueryExecModeCacheDescribe, nil
	case "exec":
		return pgx.QueryExecModeExec, nil
	case "cache_statement":
		return pgx.QueryExecModeCacheStatement, nil
	case "describe_exec":
		return pgx.QueryExecModeDescribeExec, nil
	case "simple_protocol":
		return pgx.QueryExecModeSimpleProtocol, nil
	}
	return 0, errors.New("unknown DB_QUERY_EXEC_MODE " + name)
}
