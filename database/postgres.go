package database

import (
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
//   - The query execution mode is execMode ("exec" unless configured) rather
//     than pgx's cached prepared statements, which a transaction-mode pooler
//     such as Neon's breaks: the next transaction may run on another server
//     connection that never saw the statement. A default_query_exec_mode
//     parameter in the URL itself wins, being the more specific setting.
//   - A query whose context ends (the request's DB_TIMEOUT deadline) is
//     cancelled on the server too, not only abandoned by the client, so a
//     timed-out request does not keep holding locks or a pooler slot, and
//     the connection stays usable afterwards.
func openPostgres(dsn, execMode string) (*sql.DB, error) {
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
		return &pgconn.CancelRequestContextWatcherHandler{
			Conn: c,
			// If the server does not answer the cancel request either (it
			// is down), give up on the connection shortly after.
			DeadlineDelay: 500 * time.Millisecond,
		}
	}
	return stdlib.OpenDB(*cc), nil
}

func queryExecMode(name string) (pgx.QueryExecMode, error) {
	switch name {
	case "", config.DefaultQueryExecMode:
		return pgx.QueryExecModeExec, nil
	case "cache_statement":
		return pgx.QueryExecModeCacheStatement, nil
	case "cache_describe":
		return pgx.QueryExecModeCacheDescribe, nil
	case "describe_exec":
		return pgx.QueryExecModeDescribeExec, nil
	case "simple_protocol":
		return pgx.QueryExecModeSimpleProtocol, nil
	}
	return 0, errors.New("unknown DB_QUERY_EXEC_MODE " + name)
}
