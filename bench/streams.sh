#!/usr/bin/env bash
# The event stream under load: STREAMS (5,000) open event streams over USERS (1,000)
# users while the mixed workload runs at RATE (500) req/s, open loop, through the
# same instances; reports the delivery latency from a write's response to its event
# on every open stream of its owner (p50/p99), missed and duplicated events, and
# the instances' peak RSS (bench/streams/main.go says how each is counted).
#
#   bench/streams.sh [pg|sqlite]      (default pg: two instances on one PostgreSQL)
#
# Env: STREAMS, USERS, RATE, DURATION (30s), INSTANCES (pg: 2), PORT (18200).
# Data: seed.py's 1,000 users × 100 tasks, reseeded before the run.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
DB=${1:-pg}
STREAMS=${STREAMS:-5000}; USERS=${USERS:-1000}; RATE=${RATE:-500}; DURATION=${DURATION:-30s}
PORT=${PORT:-18200}
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}
export BENCH_OUT=$OUT BENCH_SECRET=${BENCH_SECRET:-bench-secret-0123456789abcdef0123456789}
export PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PATH="/usr/local/go/bin:$PATH"
log() { echo "[streams $(date -u +%H:%M:%S)] $*" >&2; }
mkdir -p "$OUT"

(cd "$REPO" && go build -o "$OUT/todo-api-streams" . && go build -o "$OUT/streams" ./bench/streams && go build -o "$OUT/sqliteseed" ./bench/sqliteseed)
python3 "$SCRIPT_DIR/seed.py" --out "$OUT" --no-load >&2
. "$SCRIPT_DIR/lib.sh"
BIN=$OUT/todo-api-streams
if [ "$DB" = pg ]; then
  pg_up
  URL=$PG_URL
  "$SCRIPT_DIR/reseed.sh" --schema
  migrate_with "$BIN" "$URL"
  "$SCRIPT_DIR/reseed.sh"
  INSTANCES=${INSTANCES:-2}
else
  DBF=$OUT/streams.db
  rm -f "$DBF" "$DBF-wal" "$DBF-shm" "$DBF.seed"
  URL="sqlite:$DBF"
  migrate_with "$BIN" "$URL"
  "$OUT/sqliteseed" -copy "$OUT/tasks.copy" -db "$DBF"
  INSTANCES=1
fi

PIDS=(); URLS=()
stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap 'stop_all' EXIT
for i in $(seq 0 $((INSTANCES - 1))); do
  p=$((PORT + i))
  # Every stream comes from 127.0.0.1: no per-address connection cap.
  env DATABASE_URL="$URL" BETTER_AUTH_SECRET="$BENCH_SECRET" PORT=$p LOG_LEVEL=warn \
    HTTP_MAX_CONNS_PER_IP=0 EVENTS_PER_USER=$(( (STREAMS + USERS - 1) / USERS + 1 )) ${TARGET_ENV:-} \
    "$BIN" >"$OUT/streams-$p.log" 2>&1 &
  PIDS+=($!); URLS+=("http://127.0.0.1:$p")
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$p/readyz" 2>/dev/null && break
    sleep 0.1
  done
done
log "$INSTANCES instance(s) on $DB: ${URLS[*]}; $STREAMS streams over $USERS users, $RATE req/s for $DURATION"
"$OUT/streams" -urls "$(IFS=,; echo "${URLS[*]}")" -data "$OUT" -streams "$STREAMS" -users "$USERS" \
  -rate "$RATE" -duration "$DURATION" -pids "$(IFS=,; echo "${PIDS[*]}")" | tee -a "$OUT/streams.txt"
