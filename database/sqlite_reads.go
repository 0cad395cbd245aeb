package database

import (
	"database/sql"
	"runtime"

	"gorm.io/gorm"
)

// sqliteReadPool sends SQLite reads that run outside a transaction (a list,
// a task, stats) to a pool of read-only connections of their own, while
// every write and every transaction keeps the single writer connection.
//
// SQLite allows one writer at a time, and the service queues writers in Go
// on that one connection rather than spinning on SQLITE_BUSY. With reads on
// the same connection, a list waited behind every queued write and every
// write behind every list: under a mixed load both queued, which is what
// made PocketBase's mixed p99 1.5–2 s. In WAL mode readers never block the
// writer nor each other, and a read that starts after a write committed
// sees it, so a client still reads its own writes.
//
// It is a GORM plugin so that it sits where GORM picks a connection: before
// the query and row callbacks it swaps the statement's connection for the
// read pool unless the statement belongs to a transaction. The read
// connections are opened with query_only, so a write that somehow reached
// one would fail rather than bypass the writer queue.
type sqliteReadPool struct {
	db *sql.DB
}

const sqliteReadPoolName = "todo:sqlite_read_pool"

// newSQLiteReadPool opens the read connections for the database file at
// path: as many as the process has cores, and at least 4, since a reader
// waiting on the disk leaves its core to another.
func newSQLiteReadPool(path string) (*sqliteReadPool, error) {
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=busy_timeout(5000)"+
		"&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return &sqliteReadPool{db: db}, nil
}

// Name identifies the plugin in gorm.Config.Plugins.
func (*sqliteReadPool) Name() string { return sqliteReadPoolName }

// Initialize routes reads outside transactions to the pool.
func (p *sqliteReadPool) Initialize(db *gorm.DB) error {
	route := func(tx *gorm.DB) {
		if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); inTx {
			return
		}
		tx.Statement.ConnPool = p.db
	}
	if err := db.Callback().Query().Before("gorm:query").Register(sqliteReadPoolName, route); err != nil {
		return err
	}
	return db.Callback().Row().Before("gorm:row").Register(sqliteReadPoolName, route)
}

// closeReadPool closes db's read pool, if it has one.
func closeReadPool(db *gorm.DB) error {
	if p, ok := db.Config.Plugins[sqliteReadPoolName].(*sqliteReadPool); ok {
		return p.db.Close()
	}
	return nil
}
