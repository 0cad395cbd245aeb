// Command sqliteseed loads the benchmark's data set into a SQLite file, for
// the SQLite half of bench/run.sh: the same rows reseed.sh COPYs into
// PostgreSQL (bench/out/tasks.copy, written by seed.py), through the same
// pure-Go driver the service uses, so that times are stored in the text form
// the service itself writes and reads.
//
//	go run ./bench/sqliteseed -copy bench/out/tasks.copy -db bench/out/bench.db
//
// The tasks table must exist (the service creates it at start-up); the
// command empties it and idempotency_keys, inserts every row in one
// transaction, sets the AUTOINCREMENT counter to the largest id, ANALYZEs and
// checkpoints the WAL. It may run while the service holds the file open (WAL
// mode; the service is idle between workloads), which is how each workload
// starts from the seeded state. The first run keeps a copy of the loaded
// table in DB.seed (VACUUM INTO); later runs copy the rows from there with
// one INSERT … SELECT, which takes a second instead of twenty.
package main

import (
	"bufio"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite" // registers "sqlite", the driver behind glebarez/sqlite
)

func main() {
	copyPath := flag.String("copy", "bench/out/tasks.copy", "rows in PostgreSQL COPY text format (seed.py)")
	dbPath := flag.String("db", "bench/out/bench.db", "SQLite file whose tasks table is reset")
	flag.Parse()
	start := time.Now()
	n, err := load(*copyPath, *dbPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sqliteseed:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "sqliteseed: %d rows into %s in %s\n", n, *dbPath, time.Since(start).Round(time.Millisecond))
}

func load(copyPath, dbPath string) (int, error) {
	f, err := os.Open(copyPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	tx, err := db.Begin()
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{"DELETE FROM tasks", "DELETE FROM idempotency_keys"} {
		if _, err := tx.Exec(q); err != nil {
			return 0, fmt.Errorf("%s: %w (start the service once so that it creates the tables)", q, err)
		}
	}
	if err := clearLists(tx); err != nil {
		return 0, err
	}
	seed := dbPath + ".seed"
	if _, err := os.Stat(seed); err == nil {
		return fromSeed(db, tx, seed)
	}
	ins, err := tx.Prepare(`INSERT INTO tasks (id, user_id, title, description, completed, priority, due_date, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, maxID := 0, int64(0)
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) != 9 {
			return n, fmt.Errorf("line %d: %d columns, want 9", n+1, len(col))
		}
		id, err := strconv.ParseInt(col[0], 10, 64)
		if err != nil {
			return n, fmt.Errorf("line %d: id: %w", n+1, err)
		}
		due, err := nullTime(col[6])
		if err != nil {
			return n, fmt.Errorf("line %d: due_date: %w", n+1, err)
		}
		created, err := pgTime(col[7])
		if err != nil {
			return n, fmt.Errorf("line %d: created_at: %w", n+1, err)
		}
		updated, err := pgTime(col[8])
		if err != nil {
			return n, fmt.Errorf("line %d: updated_at: %w", n+1, err)
		}
		if _, err := ins.Exec(id, unescape(col[1]), unescape(col[2]), nullText(col[3]), col[4] == "t",
			unescape(col[5]), due, created, updated); err != nil {
			return n, err
		}
		n++
		maxID = max(maxID, id)
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	// The service declares id AUTOINCREMENT, so new ids continue after the seeded ones.
	if _, err := tx.Exec(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'tasks'`, maxID); err != nil {
		return n, err
	}
	if err := tx.Commit(); err != nil {
		return n, err
	}
	if _, err := db.Exec(`VACUUM INTO ?`, seed); err != nil {
		return n, fmt.Errorf("keeping a copy in %s: %w", seed, err)
	}
	return n, finish(db)
}

// fromSeed refills tasks from the copy the first run kept.
func fromSeed(db *sql.DB, tx *sql.Tx, seed string) (int, error) {
	// ATTACH cannot run inside a transaction; the connection is the same one
	// (MaxOpenConns 1), so roll back, attach, and start again.
	if err := tx.Rollback(); err != nil {
		return 0, err
	}
	if _, err := db.Exec(`ATTACH DATABASE ? AS seed`, seed); err != nil {
		return 0, err
	}
	var n int64
	err := func() error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for _, q := range []string{"DELETE FROM tasks", "DELETE FROM idempotency_keys"} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		if err := clearLists(tx); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO tasks SELECT * FROM seed.tasks`)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if _, err := tx.Exec(`UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM tasks) WHERE name = 'tasks'`); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		return 0, err
	}
	if _, err := db.Exec(`DETACH DATABASE seed`); err != nil {
		return 0, err
	}
	return int(n), finish(db)
}

func finish(db *sql.DB) error {
	for _, q := range []string{"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// pgTime reads the "2025-01-01 00:00:05.123456+00" form seed.py writes.
func pgTime(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02 15:04:05.999999-07", s)
	return t.UTC(), err
}

func nullTime(s string) (any, error) {
	if s == `\N` {
		return nil, nil
	}
	return pgTime(s)
}

func nullText(s string) any {
	if s == `\N` {
		return nil
	}
	return unescape(s)
}

// unescape undoes COPY text escaping (seed.py escapes \, tab, CR and LF).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r").Replace(s)
}

// clearLists empties the lists table of a service that has one (the
// list-in-list workload fills it through the API; a build from before lists
// has none), after the tasks that reference it.
func clearLists(tx *sql.Tx) error {
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lists'").Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err := tx.Exec("DELETE FROM lists")
	return err
}
