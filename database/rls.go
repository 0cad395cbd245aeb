package database

// Row-level security (DB_ROW_LEVEL_SECURITY=on, PostgreSQL only) is the
// second lock behind the user scope: the tables carry a policy that admits
// only rows whose user_id equals the transaction-local setting app.user_id
// (rlsmigrate.go), and every statement the Store runs sets it first. A
// statement that forgot the scope then still sees, changes and creates only
// its user's rows, and one that runs with no user at all sees none.
//
// set_config(..., true) lasts until the end of the current transaction, so
// the setting and the statement must share one. Outside an explicit
// transaction that means one implicit transaction: PostgreSQL runs every
// extended-protocol message up to a Sync as one, and a pgx batch sends
// "SELECT set_config(...)" and the statement with a single Sync. So a scoped
// statement costs one extra statement inside the same round trip, instead
// of BEGIN, set_config, the statement and COMMIT in four. The setting is
// gone when the implicit transaction ends, which also makes it safe behind
// a transaction-mode pooler (PgBouncer, Neon): it never outlives the server
// connection's current transaction.
//
// GORM only speaks database/sql, whose *sql.Rows cannot be built from pgx
// rows, so the batching happens one level down: rlsConnector wraps pgx's
// database/sql driver and batches every statement whose context carries a
// user (set by Store). An explicit transaction (Store.Write) is begun
// together with the setting in one round trip, and its statements then run
// as they are.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// setUserSQL makes app.user_id the transaction's user; the policies read it
// with current_setting('app.user_id', true), which is NULL (matching no
// row) when nothing set it.
const setUserSQL = "SELECT set_config('app.user_id', $1, true)"

// userLockSQL serialises one user's write transactions (Store.Write binds
// each to its user), in the round trip of their BEGIN: the change feed's
// positions must commit in order (feed.go). The two-key form keeps it apart
// from the migration's one-key lock; 0x746f646f is "todo".
const userLockSQL = "SELECT pg_advisory_xact_lock(1953457263, hashtext($1))"

// setPurgeSQL lets the idempotency janitor's statement delete every user's
// expired records, and only those (see rlsPolicies).
const setPurgeSQL = "SELECT set_config('app.purge_expired', 'on', true)"

// scope is whom a statement runs for: one user, or the janitor's purge.
type scope struct {
	user  string
	purge bool
}

type scopeKey struct{}

// withUser marks ctx as running statements for userID; Store does it for
// every statement, and with row-level security on, the driver sets
// app.user_id from it.
func withUser(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope{user: userID})
}

// purging marks ctx as the idempotency janitor's.
func purging(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope{purge: true})
}

func scopeOf(ctx context.Context) (scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(scope)
	return s, ok && (s.user != "" || s.purge)
}

// setting is the statement that puts s into effect for a transaction.
func (s scope) setting() (string, []any) {
	if s.purge {
		return setPurgeSQL, nil
	}
	return setUserSQL, []any{s.user}
}

// rlsConnector hands out database/sql connections that send a statement's
// preliminaries in its own round trip: with row-level security, the
// set_config of its user; in a transaction, the deferred BEGIN.
type rlsConnector struct {
	driver.Connector
	rls bool // set app.user_id for every scoped statement
}

// Connect wraps a new pgx connection.
func (c rlsConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &rlsConn{Conn: conn.(*stdlib.Conn), rls: c.rls}, nil
}

// rlsConn is a pgx database/sql connection that pipelines. database/sql
// never uses a connection from two goroutines at once, so its fields need
// no lock.
type rlsConn struct {
	*stdlib.Conn
	rls bool
	// txScope is what an open explicit transaction set app.user_id for; the
	// zero scope outside one, or in one that has not set it.
	txScope scope
	inTx    bool
	// beginPending: a transaction has begun for database/sql, but its BEGIN
	// has not been sent yet; it goes out with the first statement, so that
	// a transaction costs one round trip more than its statements (the
	// COMMIT), not two. A transaction that runs no statement sends nothing.
	beginPending bool
}

// queued is a statement sent ahead of another in the same round trip.
type queued struct {
	sql  string
	args []any
}

// ExecContext runs an INSERT, UPDATE or DELETE without RETURNING.
func (c *rlsConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	pre := c.prefix(ctx)
	if len(pre) == 0 {
		return c.Conn.ExecContext(ctx, query, args)
	}
	br := c.Conn.Conn().SendBatch(ctx, batchOf(pre, query, args))
	var err error
	for range pre {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, retryable(err)
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// QueryContext runs a SELECT, or a write with RETURNING.
func (c *rlsConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	pre := c.prefix(ctx)
	if len(pre) == 0 {
		return c.Conn.QueryContext(ctx, query, args)
	}
	br := c.Conn.Conn().SendBatch(ctx, batchOf(pre, query, args))
	for range pre {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, retryable(err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	// Read the first row now, as pgx's own driver does: database/sql asks
	// for the columns before the first Next.
	more := rows.Next()
	if err := rows.Err(); err != nil {
		rows.Close()
		_ = br.Close()
		return nil, err
	}
	return &rlsRows{rows: rows, batch: br, typeMap: c.Conn.Conn().TypeMap(), preloaded: true, more: more}, nil
}

// prefix is what must go out before a statement, in its round trip: a
// pending BEGIN with its user's lock (and with row-level security the
// transaction's set_config), or outside a transaction the statement's own
// set_config and, for a costly read, its statement_timeout (costly.go). Inside a
// transaction a statement for another scope than the one set (never done by
// Store, which binds a transaction to one user) sets it first on its own;
// set_config inside a transaction lasts until its end.
func (c *rlsConn) prefix(ctx context.Context) []queued {
	sc, scoped := scopeOf(ctx)
	scoped = scoped && c.rls
	if c.beginPending {
		c.beginPending = false
		pre := []queued{{sql: "begin"}}
		if sc.user != "" {
			pre = append(pre, queued{sql: userLockSQL, args: []any{sc.user}})
		}
		if scoped {
			query, args := sc.setting()
			pre = append(pre, queued{sql: query, args: args})
			c.txScope = sc
		}
		return pre
	}
	var pre []queued
	if ms, ok := statementTimeout(ctx); ok && !c.inTx && isCostly(ctx) {
		pre = append(pre, queued{sql: setTimeoutSQL, args: []any{ms}})
	}
	if !scoped || (c.inTx && c.txScope == sc) {
		return pre
	}
	query, args := sc.setting()
	if c.inTx {
		if _, err := c.Conn.Conn().Exec(ctx, query, args...); err == nil {
			c.txScope = sc
		}
		return nil // an error aborted the transaction: the statement fails
	}
	return append(pre, queued{sql: query, args: args})
}

func batchOf(pre []queued, query string, args []driver.NamedValue) *pgx.Batch {
	b := &pgx.Batch{}
	for _, q := range pre {
		b.Queue(q.sql, q.args...)
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	b.Queue(query, vals...)
	return b
}

// retryable tells database/sql to retry on another connection when nothing
// reached the server, as pgx's driver does.
func retryable(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

// BeginTx starts a transaction. One of the default kind sends nothing yet:
// its BEGIN goes out with its first statement (see beginPending).
func (c *rlsConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) || opts.ReadOnly {
		tx, err := c.Conn.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		c.inTx = true
		return &rlsTx{conn: c, ctx: ctx, inner: tx}, nil
	}
	c.inTx, c.beginPending, c.txScope = true, true, scope{}
	return &rlsTx{conn: c, ctx: ctx}, nil
}

// rlsTx ends a transaction begun by BeginTx: inner's when pgx began it,
// otherwise with COMMIT or ROLLBACK as pgx's own transaction would, or
// with nothing when its BEGIN was never sent.
type rlsTx struct {
	conn  *rlsConn
	ctx   context.Context
	inner driver.Tx
}

func (t *rlsTx) end() { t.conn.inTx, t.conn.beginPending, t.conn.txScope = false, false, scope{} }

// Commit commits; a transaction that failed meanwhile answers ROLLBACK to
// COMMIT, which is an error, as in pgx.
func (t *rlsTx) Commit() error {
	defer t.end()
	if t.inner != nil {
		return t.inner.Commit()
	}
	if t.conn.beginPending {
		return nil
	}
	pc := t.conn.Conn.Conn()
	tag, err := pc.Exec(t.ctx, "commit")
	if err != nil {
		if pc.PgConn().TxStatus() != 'I' {
			_ = pc.PgConn().Close(context.WithoutCancel(t.ctx))
		}
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback rolls back.
func (t *rlsTx) Rollback() error {
	defer t.end()
	if t.inner != nil {
		return t.inner.Rollback()
	}
	if t.conn.beginPending {
		return nil
	}
	pc := t.conn.Conn.Conn()
	if _, err := pc.Exec(t.ctx, "rollback"); err != nil {
		_ = pc.PgConn().Close(context.WithoutCancel(t.ctx))
		return err
	}
	return nil
}

// rlsRows is the statement's result in a batch, as database/sql rows. It
// converts values the way pgx's own driver does (stdlib.Rows, which cannot
// be built from outside its package) for the types this schema uses, and
// hands everything else over as text.
type rlsRows struct {
	rows      pgx.Rows
	batch     pgx.BatchResults
	typeMap   *pgtype.Map
	convert   []func([]byte) (driver.Value, error)
	preloaded bool
	more      bool
	names     []string
}

// Columns names the result's columns.
func (r *rlsRows) Columns() []string {
	if r.names == nil {
		fds := r.rows.FieldDescriptions()
		r.names = make([]string, len(fds))
		for i, fd := range fds {
			r.names[i] = fd.Name
		}
	}
	return r.names
}

// Close reads the rest of the batch, so the connection is free again.
func (r *rlsRows) Close() error {
	r.rows.Close()
	err := r.rows.Err()
	if cerr := r.batch.Close(); err == nil {
		err = cerr
	}
	return err
}

// Next converts the next row into dest.
func (r *rlsRows) Next(dest []driver.Value) error {
	if r.convert == nil {
		fds := r.rows.FieldDescriptions()
		r.convert = make([]func([]byte) (driver.Value, error), len(fds))
		for i, fd := range fds {
			r.convert[i] = converter(r.typeMap, fd)
		}
	}
	more := r.more
	if r.preloaded {
		r.preloaded = false
	} else {
		more = r.rows.Next()
	}
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	for i, raw := range r.rows.RawValues() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.convert[i](raw)
		if err != nil {
			return fmt.Errorf("converting column %d: %w", i, err)
		}
		dest[i] = v
	}
	return nil
}

// converter decodes one column's raw values into the driver.Value types
// pgx's driver produces for it (stdlib.Rows.Next).
func converter(m *pgtype.Map, fd pgconn.FieldDescription) func([]byte) (driver.Value, error) {
	scan := func(target any, value func() (driver.Value, error)) func([]byte) (driver.Value, error) {
		plan := m.PlanScan(fd.DataTypeOID, fd.Format, target)
		return func(src []byte) (driver.Value, error) {
			if err := plan.Scan(src, target); err != nil {
				return nil, err
			}
			return value()
		}
	}
	switch fd.DataTypeOID {
	case pgtype.BoolOID:
		var d bool
		return scan(&d, func() (driver.Value, error) { return d, nil })
	case pgtype.Int2OID:
		var d int16
		return scan(&d, func() (driver.Value, error) { return int64(d), nil })
	case pgtype.Int4OID:
		var d int32
		return scan(&d, func() (driver.Value, error) { return int64(d), nil })
	case pgtype.Int8OID:
		var d int64
		return scan(&d, func() (driver.Value, error) { return d, nil })
	case pgtype.Float4OID:
		var d float32
		return scan(&d, func() (driver.Value, error) { return float64(d), nil })
	case pgtype.Float8OID:
		var d float64
		return scan(&d, func() (driver.Value, error) { return d, nil })
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID:
		var d []byte
		return scan(&d, func() (driver.Value, error) { return d, nil })
	case pgtype.TimestamptzOID:
		var d pgtype.Timestamptz
		return scan(&d, func() (driver.Value, error) { return d.Value() })
	case pgtype.TimestampOID:
		var d pgtype.Timestamp
		return scan(&d, func() (driver.Value, error) { return d.Value() })
	case pgtype.DateOID:
		var d pgtype.Date
		return scan(&d, func() (driver.Value, error) { return d.Value() })
	}
	var d string
	return scan(&d, func() (driver.Value, error) { return d, nil })
}
