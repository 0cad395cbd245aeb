package database

// Group commit (SQLite only). With synchronous=FULL every COMMIT waits for
// an fsync of the WAL, and on the single connection commits happen one at a
// time: the fsync, not the CPU, bounds how many writes a second the service
// acknowledges. So concurrent writers share a transaction: each request's
// function runs inside its own SAVEPOINT of one transaction, and one COMMIT —
// one fsync — makes them all durable. Nobody hears "done" before that COMMIT
// has returned, so an acknowledged write still survives a power loss.
//
// There is no background goroutine to start or stop (a Store lives as long
// as its *gorm.DB, and tests open many): the first caller to find no batch
// running leads — it runs the queue's batch itself and returns with its own
// result; whoever queued meanwhile is served by a goroutine that it starts
// and that exits once the queue is empty.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// maxBatch caps the requests one COMMIT acknowledges, so that one batch
// holds the connection (and the reads waiting for it) for a bounded time.
const maxBatch = 64

// groupCommit queues write requests and runs them in shared transactions.
type groupCommit struct {
	db *gorm.DB

	mu      sync.Mutex
	queue   []*request
	running bool // a leader or its successor is running batches

	// commits counts the transactions run, so that tests can tell that
	// requests were batched rather than committed one by one.
	commits atomic.Int64
}

// request is one caller's function, waiting for its batch.
type request struct {
	ctx    context.Context
	userID string
	fn     func(Tx) error
	done   chan error // buffered: the batch never waits for its caller
}

func newGroupCommit(db *gorm.DB) *groupCommit { return &groupCommit{db: db} }

// do runs fn for userID in the next batch and returns once that batch's
// COMMIT has returned. It waits for the result even when ctx ends meanwhile:
// fn may be running, writing into the caller's variables.
func (g *groupCommit) do(ctx context.Context, userID string, fn func(Tx) error) error {
	r := &request{ctx: ctx, userID: userID, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		// The queue held only r (a caller queueing while no batch ran
		// would have led itself), so r is in this batch.
		g.run(g.next())
		if g.more() {
			go g.drain()
		}
	}
	return <-r.done
}

// next takes up to maxBatch requests off the queue, oldest first.
func (g *groupCommit) next() []*request {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), maxBatch)
	batch := g.queue[:n:n]
	g.queue = append([]*request(nil), g.queue[n:]...)
	return batch
}

// more reports whether requests are waiting; if none, the running batch
// was the last and the next caller leads.
func (g *groupCommit) more() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running = len(g.queue) > 0
	return g.running
}

// drain runs batches until the queue is empty.
func (g *groupCommit) drain() {
	for {
		g.run(g.next())
		if !g.more() {
			return
		}
	}
}

// run executes batch and answers every request in it exactly once.
func (g *groupCommit) run(batch []*request) {
	errs := make([]error, len(batch))
	err := g.commit(batch, errs)
	for i, r := range batch {
		if errs[i] == nil {
			// The request's own statements succeeded (or never ran): the
			// batch's outcome is its outcome.
			errs[i] = err
		}
		r.done <- errs[i]
	}
}

// commit runs each request of batch in a savepoint of one transaction and
// commits it. errs[i] receives request i's own failure: its context ended
// before its turn, or its function failed (its savepoint is rolled back).
// The returned error is the batch's: everything not already failed in errs
// shares it, since nothing of the batch was committed.
//
// The transaction is begun and ended by hand on a connection held
// throughout, rather than through database/sql's Tx: a COMMIT that SQLite
// refuses can leave the transaction open, and the Tx would then hand the
// connection back to the pool mid-transaction, where later statements would
// never commit. Holding the connection lets the batch roll back first.
func (g *groupCommit) commit(batch []*request, errs []error) (err error) {
	// A panic here, outside any request's function, must still answer
	// every caller and leave the batcher able to run the next batch.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("group commit: %v", p)
		}
	}()
	ctx, cancel := batchContext(batch)
	defer cancel()
	g.commits.Add(1)
	return g.db.WithContext(ctx).Connection(func(conn *gorm.DB) (err error) {
		// COMMIT and ROLLBACK run even after the deadline: an interrupted
		// COMMIT would leave the outcome unknown, a skipped ROLLBACK the
		// transaction open.
		end := conn.Session(&gorm.Session{NewDB: true, Context: context.Background()})
		if err := end.Exec("BEGIN IMMEDIATE").Error; err != nil {
			return err
		}
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("group commit: %v", p)
			}
			if err != nil {
				rollback(end)
			}
		}()
		base := conn.Session(&gorm.Session{NewDB: true})
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			t := newTx(base, ctx, r.userID)
			if errs[i], err = inSavepoint(base, t, r.fn); err != nil {
				return err
			}
		}
		return end.Exec("COMMIT").Error
	})
}

// rollback ends a failed batch's transaction. SQLite may have rolled it back
// already (a full disk, an interrupt); if the ROLLBACK fails otherwise, the
// connection is dropped rather than returned to the pool in an unknown state.
func rollback(end *gorm.DB) {
	err := end.Exec("ROLLBACK").Error
	if err == nil || strings.Contains(err.Error(), "no transaction is active") {
		return
	}
	if conn, ok := end.Statement.ConnPool.(*sql.Conn); ok {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// inSavepoint runs fn in a savepoint of tx and undoes fn's statements if it
// fails or panics. fnErr is fn's own error; err is one that leaves the
// transaction unusable (SQLite rolls the whole transaction back on a few
// errors, such as a full disk, after which ROLLBACK TO fails), so the batch
// must stop.
//
// GORM's nested Transaction would also set a savepoint, but it ignores a
// failed ROLLBACK TO (later requests would then run outside any
// transaction), never releases its savepoints, and lets a panic through.
func inSavepoint(tx *gorm.DB, t Tx, fn func(Tx) error) (fnErr, err error) {
	if err := tx.Exec("SAVEPOINT request").Error; err != nil {
		return nil, err
	}
	if fnErr = call(fn, t); fnErr != nil {
		if err := tx.Exec("ROLLBACK TO request").Error; err != nil {
			return fnErr, err
		}
	}
	return fnErr, tx.Exec("RELEASE request").Error
}

// call runs fn and turns a panic into fn's error: the panicking request
// answers 500 like any other failure, while the rest of its batch, and the
// goroutine running it, carry on.
func call(fn func(Tx) error, t Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok {
				err = fmt.Errorf("transaction function panicked: %w", e)
			} else {
				err = fmt.Errorf("transaction function panicked: %v", p)
			}
		}
	}()
	return fn(t)
}

// batchContext is the context the batch's statements run with. It is not
// any one request's: a statement interrupted inside a SQLite transaction can
// roll the whole transaction back, so one caller's cancellation must not
// reach the others' writes. Its deadline is the latest of the requests'
// deadlines, if they all have one: a database that stops answering still
// ends the batch, but only once every caller has given up.
func batchContext(batch []*request) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}
