#!/usr/bin/env bash
# Benchmark one running configuration of a target with the five wrk workloads.
# bench/run.sh calls it; it can also be used alone against a database that
# bench/run.sh (or pg.sh + reseed.sh) has prepared.
#
#   bench/target.sh NAME 'START_COMMAND' PORT
#
# START_COMMAND runs under bash with DATABASE_URL ($TARGET_DB_URL), BETTER_AUTH_SECRET
# and PORT in its environment (single-quote it so $PORT expands there; use exec so no
# wrapper shell is counted in RSS). RESEED is the command that puts the data back to
# the seeded state (default: reseed.sh, TRUNCATE + COPY into PostgreSQL).
#
# Adapted from the shared harness (shared/bench/run.sh), same method: start the
# target, wait for /healthz, contract smoke test (smoke.py; BENCH_SMOKE=0 skips it),
# then per workload: reseed, warm-up, reseed, wait for the machine to be quiet, measure
# with wrk -t2 -c64 -d15s --latency --timeout 10s, and append one line to
# out/results.tsv:
#   date  name  workload  rps  p50_ms  p99_ms  errors  rss_mb  foreign_cpu_pct  codes  cpu_us_per_req
# errors = non-2xx responses + socket errors; codes = the non-2xx statuses seen;
# rss_mb = sum of VmHWM (peak RSS) over the target's process tree since it started;
# foreign_cpu_pct = CPU share other processes (not the target, PostgreSQL, wrk,
# kernel threads) took during the measurement, plus steal (lib.sh); cpu_us_per_req =
# CPU time (user + system) the service's process used per request during the
# measurement, which other processes' load disturbs far less than req/s. A measurement
# above BENCH_MAX_FOREIGN (5 %) is taken again up to BENCH_RETRIES (2) more times.
#
# Env knobs: TARGET_DB_URL, RESEED, WORKLOADS ("list get create toggle mixed"),
# DURATION (15s), WARMUP (3s), THREADS (2), CONNS (64), WRK_TIMEOUT (10s),
# BENCH_SECRET, BENCH_SMOKE (1), BENCH_RETRIES (2), BENCH_QUIET_WAIT (60),
# TARGET_ENV (extra VAR=value words for the target's environment).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 3 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
NAME=$1
START=$2
PORT=$3

WORKLOADS=${WORKLOADS:-"list get create toggle mixed"}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
BENCH_SECRET=${BENCH_SECRET:-bench-secret-0123456789abcdef0123456789}
BENCH_SMOKE=${BENCH_SMOKE:-1}
BENCH_RETRIES=${BENCH_RETRIES:-2}
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}; [ -n "${BENCH_OUT:-}" ] || [ -w "$SCRIPT_DIR" ] || OUT=/tmp/todo-bench-out  # shared copies are read-only
export BENCH_OUT=$OUT BENCH_SECRET
PY=${BENCH_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
RESULTS=$OUT/results.tsv
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOGDIR=$OUT/logs/$STAMP-$NAME
mkdir -p "$LOGDIR"

. "$SCRIPT_DIR/lib.sh"
log() { echo "[target.sh $(date -u +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v wrk >/dev/null || die "wrk not installed (bench/run.sh installs it)"
command -v curl >/dev/null || die "curl not installed"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "something already listens on 127.0.0.1:$PORT"
fi

# ---- database (prepared by the caller)
DATABASE_URL=${TARGET_DB_URL:-$("$SCRIPT_DIR/pg.sh" url)}
RESEED=${RESEED:-"$SCRIPT_DIR/reseed.sh"}
[ -f "$OUT/tokens.txt" ] || die "no $OUT/tokens.txt: run bench/run.sh (or seed.py) first"

# ---- target process tree helpers
svc_ticks() {  # utime + stime of the target's tree, in clock ticks
  local p t=0 v
  for p in $(tree_pids "$TARGET_PID"); do
    v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
TARGET_PID=
rss_mb() {  # sum of VmHWM over the tree, MiB; breakdown to the log
  local total=0 p kb comm
  for p in $(tree_pids "$TARGET_PID"); do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    comm=$(cat "/proc/$p/comm" 2>/dev/null || echo '?')
    [ -n "$kb" ] || continue
    echo "  pid $p ($comm) VmHWM ${kb} kB" >>"$LOGDIR/rss.txt"
    total=$((total + kb))
  done
  awk -v kb="$total" 'BEGIN { printf "%.1f", kb / 1024 }'
}
stop_target() {
  [ -n "$TARGET_PID" ] || return 0
  local pids p i
  pids=$(tree_pids "$TARGET_PID")
  kill -TERM "$TARGET_PID" 2>/dev/null || true
  for i in $(seq 1 100); do
    local alive=0
    for p in $pids; do [ -d "/proc/$p" ] && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$TARGET_PID" 2>/dev/null || true
  TARGET_PID=
}
trap stop_target EXIT
trap 'exit 130' INT TERM

# list-in-list reads the lists of 20 users only: at thousands of requests a second
# each of them is far over the per-user rate limit (1,200 a minute) and in-flight cap
# (4, 2 of them costly), and the run would measure the 429 path. Both stay on, raised
# for the whole run (run list-in-list on its own to keep the others' defaults).
case " $WORKLOADS " in
  *" list-in-list "*)
    TARGET_ENV="${TARGET_ENV:-} RATE_LIMIT_PER_MINUTE=100000000 USER_MAX_IN_FLIGHT=64 USER_MAX_COSTLY_IN_FLIGHT=64"
    log "list-in-list: per-user limits raised for this run (TARGET_ENV=$TARGET_ENV)" ;;
esac

# ---- start target
log "starting $NAME: $START (port $PORT)"
# shellcheck disable=SC2086 # TARGET_ENV is a list of words on purpose
env DATABASE_URL="$DATABASE_URL" BETTER_AUTH_SECRET="$BENCH_SECRET" PORT="$PORT" ${TARGET_ENV:-} \
  setsid bash -c "$START" >"$LOGDIR/target.log" 2>&1 </dev/null &
TARGET_PID=$!
for i in $(seq 1 600); do
  if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then break; fi
  [ -d "/proc/$TARGET_PID" ] || { tail -20 "$LOGDIR/target.log" >&2; die "target exited during start"; }
  [ "$i" = 600 ] && { tail -20 "$LOGDIR/target.log" >&2; die "no 200 from /healthz after 60 s"; }
  sleep 0.1
done
log "target up (pid $TARGET_PID)"

if [ "$BENCH_SMOKE" = 1 ]; then
  if ! BETTER_AUTH_SECRET=$BENCH_SECRET "$PY" "$SCRIPT_DIR/smoke.py" "http://127.0.0.1:$PORT" >"$LOGDIR/smoke.txt" 2>&1; then
    grep -E 'FAIL|passed' "$LOGDIR/smoke.txt" >&2 || tail -20 "$LOGDIR/smoke.txt" >&2
    die "contract smoke test failed (log: $LOGDIR/smoke.txt); BENCH_SMOKE=0 benchmarks anyway"
  fi
  log "smoke: $(tail -1 "$LOGDIR/smoke.txt")"
fi

HEADER='date\tname\tworkload\trps\tp50_ms\tp99_ms\terrors\trss_mb\tforeign_cpu_pct\tcodes\tcpu_us_per_req'
# A results file from an older version of this script has fewer columns, and
# table.py reads columns by the header's names: start a new file instead.
if [ -f "$RESULTS" ] && [ "$(head -1 "$RESULTS")" != "$(printf "$HEADER")" ]; then
  mv "$RESULTS" "$RESULTS.old-$(date -u +%Y%m%dT%H%M%SZ)"
fi
[ -f "$RESULTS" ] || printf "$HEADER\n" >"$RESULTS"
secs() { local d=$1; case $d in *m) echo $(( ${d%m} * 60 ));; *s) echo "${d%s}";; *) echo "$d";; esac; }
LIMIT=$(( $(secs "$DURATION") + $(secs "$WARMUP") + 60 ))

# prepare resets the data for workload $w; list-in-list then files its lists and
# tasks through the service's API (listinlist.py), as reseeding empties them.
prepare() {
  $RESEED >&2
  if [ "$w" = list-in-list ]; then
    BENCH_OUT=$OUT "$PY" "$SCRIPT_DIR/listinlist.py" "http://127.0.0.1:$PORT" >&2 || die "listinlist.py failed"
  fi
}

for w in $WORKLOADS; do
  script=$SCRIPT_DIR/wrk/$w.lua
  [ -f "$script" ] || die "no workload $script"
  prepare
  timeout "$LIMIT" wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" --timeout "$WRK_TIMEOUT" -s "$script" \
    "http://127.0.0.1:$PORT" >"$LOGDIR/$w.warmup.txt" 2>&1 || true
  for attempt in $(seq 0 "$BENCH_RETRIES"); do
    prepare
    wait_quiet "$NAME/$w" "$LOGDIR/noise.txt"
    cpu0=$(svc_ticks)
    noise_begin
    timeout "$LIMIT" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -s "$script" \
      "http://127.0.0.1:$PORT" >"$LOGDIR/$w.txt" 2>&1 || true
    noise_end
    cpu1=$(svc_ticks)
    echo "  measured: foreign_cpu=${FOREIGN_CPU}% $(grep '^BENCH_RESULT' "$LOGDIR/$w.txt" || true)" >>"$LOGDIR/noise.txt"
    too_noisy && [ "$attempt" -lt "$BENCH_RETRIES" ] || break
    log "other processes took ${FOREIGN_CPU}% of the machine during $w: measuring again"
  done
  record_noise "$OUT/noise.tsv" "$NAME" "$w"
  [ -d "/proc/$TARGET_PID" ] || die "target died during $w (log: $LOGDIR/target.log)"
  line=$(grep '^BENCH_RESULT' "$LOGDIR/$w.txt" || true)
  [ -n "$line" ] || { cat "$LOGDIR/$w.txt" >&2; die "wrk gave no result for $w"; }
  get() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
  echo "== $w" >>"$LOGDIR/rss.txt"
  rss=$(rss_mb)
  cpu_req=$(awk -v t="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v n="$(get requests)" 'BEGIN { printf "%.0f", (n > 0) ? t / hz * 1e6 / n : 0 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$NAME" "$w" \
    "$(get rps)" "$(get p50_ms)" "$(get p99_ms)" "$(get errors)" "$rss" "$FOREIGN_CPU" "$(get codes)" "$cpu_req" | tee -a "$RESULTS"
  [ "$(get errors)" = 0 ] || log "WARNING: $w had $(get errors) errors ($(get codes); socket $(get socket_errors))"
done

stop_target
log "done; logs in $LOGDIR, results appended to $RESULTS"
