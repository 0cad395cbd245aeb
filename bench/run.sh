#!/usr/bin/env bash
# The benchmark, in one command, from the repository root:
#
#   bench/run.sh            PostgreSQL (service and pgbench ceiling) and SQLite
#   bench/run.sh pg         PostgreSQL only
#   bench/run.sh sqlite     SQLite only
#
# It installs what it needs when missing (apt: PostgreSQL 15, wrk, curl, python3),
# builds the binary, starts a throwaway PostgreSQL (bench/pg.sh, 127.0.0.1:55432, as
# the postgres user when run as root), seeds 1,000 users x 100 tasks (seed.py), lets
# the service migrate the table once, then measures, in this order:
#   1. the database ceiling: pgbench running the same SQL (ceiling.sh);
#   2. the service on that PostgreSQL (target.sh: list, get, create, toggle, mixed;
#      wrk -t2 -c64 -d15s --latency --timeout 10s; reseed before each);
#   3. the service on SQLite, the same rows loaded into a SQLite file (sqliteseed).
# and prints the tables (table.py): the service beside the ceiling with the ratios,
# and the SQLite figures beside the PocketBase targets of issue 7. Raw lines go to
# bench/out/results.tsv, the tables to bench/out/report-<time>.md.
#
# About 15 minutes on 2 cores. Env knobs: those of target.sh and ceiling.sh
# (WORKLOADS, DURATION, MODES, BENCH_RETRIES, BENCH_QUIET_WAIT, ...), plus
# BENCH_BIN (measure this binary instead of building one), TARGET_PORT (18100),
# TARGET_ENV (extra VAR=value words for the service), BENCH_KEEP_PG (1: leave
# PostgreSQL running at the end).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
WHAT=${1:-all}
case $WHAT in all | pg | sqlite) ;; *) sed -n '2,8p' "$0" >&2; exit 2 ;; esac
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}
export BENCH_OUT=$OUT
mkdir -p "$OUT"
PORT=${TARGET_PORT:-18100}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

# ---- tools (only what is missing; the benchmark is not part of .ci/run)
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v ps >/dev/null || need+=(procps)
if [ "$WHAT" != sqlite ] && { [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pgbench" ]; }; then
  need+=(postgresql-15 postgresql-client-15)
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  [ "$(id -u)" = 0 ] || { echo "bench: run as root or install: ${need[*]}" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="/usr/local/go/bin:$PATH"

# ---- the binary and the seed loader
cd "$REPO"
BIN=${BENCH_BIN:-$OUT/todo-api}
if [ -z "${BENCH_BIN:-}" ]; then
  log "building $BIN"
  go build -o "$BIN" .
fi
go build -o "$OUT/sqliteseed" ./bench/sqliteseed
python3 "$SCRIPT_DIR/seed.py" --out "$OUT" --no-load >&2   # data files once, fresh tokens every run

. "$SCRIPT_DIR/lib.sh"   # migrate_with

# ---- PostgreSQL: ceiling, then the service
if [ "$WHAT" != sqlite ]; then
  pg_up
  # The contract's table with the seeded rows, then the service's own columns
  # and indexes on top: ceiling and service see the same table and data.
  "$SCRIPT_DIR/reseed.sh" --schema
  migrate_with "$BIN" "$PG_URL"
  "$SCRIPT_DIR/reseed.sh"
  MODES=${MODES:-"prepared extended"} "$SCRIPT_DIR/ceiling.sh"
  TARGET_DB_URL=$PG_URL RESEED="$SCRIPT_DIR/reseed.sh" \
    "$SCRIPT_DIR/target.sh" todo-api-pg "exec '$BIN'" "$PORT"
fi

# ---- SQLite: the same rows in a file of the service's own schema
if [ "$WHAT" != pg ]; then
  DB=$OUT/bench.db
  rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.seed"
  migrate_with "$BIN" "sqlite:$DB"
  TARGET_DB_URL="sqlite:$DB" RESEED="$OUT/sqliteseed -copy $OUT/tasks.copy -db $DB" \
    "$SCRIPT_DIR/target.sh" todo-api-sqlite "exec '$BIN'" "$PORT"
fi

REPORT=$OUT/report-$(date -u +%Y%m%dT%H%M%SZ).md
python3 "$SCRIPT_DIR/table.py" --since "$SINCE" "$OUT/results.tsv" | tee "$REPORT"
log "tables in $REPORT"
