#!/usr/bin/env bash
# CPU profile of the service under one wrk workload, through PPROF_ADDR.
#
#   bench/profile.sh [WORKLOAD] [pg|sqlite]        (default: mixed pg)
#
# Builds the binary, prepares the database as bench/run.sh does (PostgreSQL:
# pg.sh, schema, seed, migration; SQLite: a seeded file), starts the service with
# PPROF_ADDR=127.0.0.1:16060, runs wrk -t2 -c64 for 20 s and takes a 15 s CPU
# profile in the middle of it. Writes out/profile-WORKLOAD-DB.pb.gz and prints the
# top functions (flat and cumulative). Look further with
#   go tool pprof -http :8081 bench/out/todo-api bench/out/profile-mixed-pg.pb.gz
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
W=${1:-mixed}; DB=${2:-pg}
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}
export BENCH_OUT=$OUT PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PATH="/usr/local/go/bin:$PATH"
PORT=${TARGET_PORT:-18100}
SECRET=${BENCH_SECRET:-bench-secret-0123456789abcdef0123456789}
cd "$REPO"
go build -o "$OUT/todo-api" . && go build -o "$OUT/sqliteseed" ./bench/sqliteseed
python3 "$SCRIPT_DIR/seed.py" --out "$OUT" --no-load >&2

start() { # url
  env DATABASE_URL="$1" BETTER_AUTH_SECRET="$SECRET" PORT="$PORT" PPROF_ADDR=127.0.0.1:16060 ${TARGET_ENV:-} \
    "$OUT/todo-api" >"$OUT/profile-target.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && return
    sleep 0.1
  done
  cat "$OUT/profile-target.log" >&2; exit 1
}
if [ "$DB" = pg ]; then
  if ! "$SCRIPT_DIR/pg.sh" status >/dev/null 2>&1; then "$SCRIPT_DIR/pg.sh" start >&2; trap '"$SCRIPT_DIR/pg.sh" stop >&2' EXIT; fi
  URL=$("$SCRIPT_DIR/pg.sh" url)
  "$SCRIPT_DIR/reseed.sh" --schema
  start "$URL"
  "$SCRIPT_DIR/reseed.sh"
else
  F=$OUT/profile.db
  rm -f "$F" "$F-wal" "$F-shm" "$F.seed"
  URL="sqlite:$F"
  start "$URL"
  "$OUT/sqliteseed" -copy "$OUT/tasks.copy" -db "$F"
fi
wrk -t2 -c64 -d20s --timeout 10s -s "$SCRIPT_DIR/wrk/$W.lua" "http://127.0.0.1:$PORT" >"$OUT/profile-wrk.txt" 2>&1 &
WRK=$!
sleep 3
curl -fsS -o "$OUT/profile-$W-$DB.pb.gz" "http://127.0.0.1:16060/debug/pprof/profile?seconds=15"
wait "$WRK" || true
kill -TERM "$PID"; wait "$PID" || true
grep BENCH_RESULT "$OUT/profile-wrk.txt" || true
go tool pprof -top -nodecount 35 "$OUT/todo-api" "$OUT/profile-$W-$DB.pb.gz" 2>/dev/null | sed -n '1,45p'
go tool pprof -top -cum -nodecount 40 "$OUT/todo-api" "$OUT/profile-$W-$DB.pb.gz" 2>/dev/null | sed -n '6,50p'
