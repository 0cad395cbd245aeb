#!/usr/bin/env bash
# The database ceiling: pgbench running the exact SQL of each workload
# (bench/pgbench/*.sql; mixed = list@60 get@20 toggle@15 create@5) for a random user,
# pgbench -n -c 64 -j 2 -T 15, against the table bench/run.sh prepared (the service's
# migrated schema, the seeded rows). TPS, p50/p99 (from a 10 % sample of the
# per-transaction log) and failed transactions go to out/results.tsv as name
# pg-<mode>. Each run: reseed, 3 s warm-up, reseed, wait for quiet, measure.
# Copied from the shared harness (shared/bench/ceiling.sh), database part only.
#
#   bench/ceiling.sh          (bench/run.sh calls it)
#
# Env knobs: WORKLOADS, DURATION (15), WARMUP (3), CONNS (64), THREADS (2),
# MODES ("prepared"; run.sh adds "extended", which is what pgx's exec mode
# does, and "simple"), PGBIN, BENCH_RETRIES (2), NAME_SUFFIX.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
WORKLOADS=${WORKLOADS:-"list get create toggle mixed"}
DURATION=${DURATION:-15}; DURATION=${DURATION%s}
WARMUP=${WARMUP:-3}; WARMUP=${WARMUP%s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
MODES=${MODES:-prepared}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}; [ -n "${BENCH_OUT:-}" ] || [ -w "$SCRIPT_DIR" ] || OUT=/tmp/todo-bench-out  # shared copies are read-only
export BENCH_OUT=$OUT
RESULTS=$OUT/results.tsv
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOGDIR=$OUT/logs/$STAMP-ceiling
mkdir -p "$LOGDIR"
. "$SCRIPT_DIR/lib.sh"
log() { echo "[ceiling.sh $(date -u +%H:%M:%S)] $*" >&2; }

cleanup() { rm -rf "${PGB_TMP:-}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export BENCH_DB_URL=${BENCH_DB_URL:-$("$SCRIPT_DIR/pg.sh" url)}
[ -f "$RESULTS" ] || printf 'date\tname\tworkload\trps\tp50_ms\tp99_ms\terrors\trss_mb\tforeign_cpu_pct\tcodes\n' >"$RESULTS"

scripts_for() {
  case $1 in
    mixed) echo "-f $SCRIPT_DIR/pgbench/list.sql@60 -f $SCRIPT_DIR/pgbench/get.sql@20 -f $SCRIPT_DIR/pgbench/toggle.sql@15 -f $SCRIPT_DIR/pgbench/create.sql@5" ;;
    *) echo "-f $SCRIPT_DIR/pgbench/$1.sql" ;;
  esac
}

PGB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/todo-bench-pgbench.XXXXXX")
for mode in $MODES; do
  for w in $WORKLOADS; do
    # shellcheck disable=SC2046
    set -- $(scripts_for "$w")
    common=(-n -c "$CONNS" -j "$THREADS" -M "$mode" "$@" "$BENCH_DB_URL")
    "$SCRIPT_DIR/reseed.sh" >&2
    timeout $((WARMUP + 60)) "$PGBIN/pgbench" -T "$WARMUP" "${common[@]}" >"$LOGDIR/pg-$mode-$w.warmup.txt" 2>&1 || true
    for attempt in $(seq 0 "${BENCH_RETRIES:-2}"); do
      "$SCRIPT_DIR/reseed.sh" >&2
      wait_quiet "pg-$mode/$w" "$LOGDIR/noise.txt"
      rm -f "$PGB_TMP"/pgb*
      noise_begin
      timeout $((DURATION + 60)) "$PGBIN/pgbench" -T "$DURATION" --log --sampling-rate=0.1 --log-prefix="$PGB_TMP/pgb" \
        "${common[@]}" >"$LOGDIR/pg-$mode-$w.txt" 2>&1 || { cat "$LOGDIR/pg-$mode-$w.txt" >&2; exit 1; }
      noise_end
      echo "  measured: foreign_cpu=${FOREIGN_CPU}% $(grep '^tps' "$LOGDIR/pg-$mode-$w.txt" || true)" >>"$LOGDIR/noise.txt"
      too_noisy && [ "$attempt" -lt "${BENCH_RETRIES:-2}" ] || break
      log "other processes took ${FOREIGN_CPU}% of the machine during pg-$mode/$w: measuring again"
    done
    record_noise "$OUT/noise.tsv" "pg-$mode${NAME_SUFFIX:-}" "$w"
    tps=$(awk '/^tps = / {printf "%.1f", $3; exit}' "$LOGDIR/pg-$mode-$w.txt")
    failed=$(awk '/^number of failed transactions:/ {print $5; exit}' "$LOGDIR/pg-$mode-$w.txt")
    # per-transaction log: client_id transaction_no time_us script_no epoch epoch_us
    read -r p50 p99 < <(cat "$PGB_TMP"/pgb* | awk '{print $3}' | sort -n | awk '
      { v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
        i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
        printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "pg-$mode${NAME_SUFFIX:-}" "$w" \
      "$tps" "$p50" "$p99" "${failed:-?}" "-" "$FOREIGN_CPU" "-" | tee -a "$RESULTS"
  done
done

log "done; logs in $LOGDIR"
