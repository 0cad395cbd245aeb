package database

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
	"gorm.io/gorm"
)

// A committed change reaches the event streams as a wake-up naming only its
// user; the streams then read the change feed (see package events). On
// SQLite, one process, the write door calls the Store's commit hook after
// the commit. On PostgreSQL, where the writer may be another instance, a
// trigger on the user's feed counter sends NOTIFY in the writing
// transaction: PostgreSQL delivers it exactly when that transaction
// commits, never for one that rolls back, and folds a transaction's
// identical notifications (a clear-completed of many tasks) into one.
// Every change of the feed moves the counter (feed.go), tasks and lists
// alike, and a no-op write does not, so a no-op wakes nobody.

// ChangesChannel is the PostgreSQL notification channel of committed
// changes; the payload is the user id.
const ChangesChannel = "todo_changes"

const pgNotifyBody = `
BEGIN
	PERFORM pg_notify('` + ChangesChannel + `', NEW.user_id);
	RETURN NULL;
END`

// pgNotifyFunction returns the statements that (re)create the notifying
// trigger on user_usage, or none when it is in place (a serving role that
// owns nothing must find nothing to do).
func pgNotifyFunction(tx *gorm.DB) ([]string, error) {
	return pgTriggered{function: "todo_notify_change", body: pgNotifyBody, triggers: []pgTrigger{
		{"todo_notify_change_insert", `CREATE OR REPLACE TRIGGER todo_notify_change_insert AFTER INSERT ON user_usage FOR EACH ROW
			WHEN (NEW.changes_head > 0) EXECUTE FUNCTION todo_notify_change()`},
		{"todo_notify_change_update", `CREATE OR REPLACE TRIGGER todo_notify_change_update AFTER UPDATE OF changes_head ON user_usage FOR EACH ROW
			WHEN (NEW.changes_head IS DISTINCT FROM OLD.changes_head) EXECUTE FUNCTION todo_notify_change()`},
	}}.steps(tx)
}

// installNotify adds the notifying trigger, inside the migration's
// transaction and after installFeed.
func installNotify(tx *gorm.DB) error {
	steps, err := pgNotifyFunction(tx)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := tx.Exec(s).Error; err != nil {
			return err
		}
	}
	return nil
}

// OnCommit makes the write door call fn with the user of every write that
// committed (changed or not: a woken stream that finds nothing new sends
// nothing). One instance learns of its own writes this way; set it before
// serving.
func (s *Store) OnCommit(fn func(user string)) { s.onCommit = fn }

// ListenReconnectDelay is how long Listen waits before it connects again
// after losing its connection.
const ListenReconnectDelay = time.Second

// Listen holds one PostgreSQL connection to dsn that LISTENs for committed
// changes and calls notify with each one's user, until ctx ends. dsn must
// be a direct connection: a transaction-mode pooler (PgBouncer) cannot hold
// a LISTEN. When the connection drops, Listen connects again every
// ListenReconnectDelay; each time it is listening again it calls resync,
// since notifications sent meanwhile are lost (the streams catch up from
// the feed). It calls resync also when the connection drops and at each
// failed reconnect: a stream then reads the feed, and when the database is
// down that read fails and ends the stream with a clear event, instead of
// the stream staying open, silent, on a database nobody can write to.
func Listen(ctx context.Context, dsn string, log *slog.Logger, notify func(user string), resync func()) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	// The name lets an operator (and the tests) find this connection in
	// pg_stat_activity.
	cfg.RuntimeParams["application_name"] = "todo-api-listen"
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg) },
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				log.Warn("change notifications: connection lost; streams catch up from the feed once it is back", "error", err.Error())
				resync()
			}
		},
		ReconnectDelay: ListenReconnectDelay,
	}
	l.Handle(ChangesChannel, listenHandler{notify: notify, resync: resync})
	return l.Listen(ctx)
}

type listenHandler struct {
	notify func(string)
	resync func()
}

func (h listenHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	h.notify(n.Payload)
	return nil
}

// HandleBacklog runs once the connection is listening, after every
// (re)connect.
func (h listenHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.resync()
	return nil
}
