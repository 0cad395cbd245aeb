#!/usr/bin/env bash
# A/B: two builds of the service, alternated (A, B, A, B, ...) on the same data, so
# that both see the same machine: its speed drifts by 20-30 % within minutes, and it
# may be shared. This is how each optimisation's effect is measured.
#
#   bench/ab.sh A B [ROUNDS]          (ROUNDS default 2)
#
# A and B are git revisions (built from `git archive`, so the work tree is not
# touched) or paths to binaries. Env: DB (pg or sqlite; default pg), WORKLOADS
# (default "list get create toggle mixed"), TARGET_ENV_A / TARGET_ENV_B (extra
# VAR=value words for each side's environment, e.g. DB_QUERY_EXEC_MODE=cache_statement),
# and target.sh's knobs. Prints per-workload medians of each side, B ÷ A, and the
# ratio of each round, and the service's CPU time per request (less disturbed by other
# processes' load than req/s). Results: out/results.tsv with names ab-A-rN and ab-B-rN.
#
# Each side runs on the schema its own binary makes: before every run of A or B the
# PostgreSQL tables are dropped and that side's binary migrates them afresh, and on
# SQLite each side has its own file. Otherwise the side that migrates second upgrades
# the database for both, and A is measured with B's triggers and indexes.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
if [ $# -lt 2 ]; then sed -n '2,15p' "$0" >&2; exit 2; fi
A=$1; B=$2; ROUNDS=${3:-2}
DB=${DB:-pg}
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}
export BENCH_OUT=$OUT
PORT=${TARGET_PORT:-18100}
export PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PATH="/usr/local/go/bin:$PATH"
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log() { echo "[ab $(date -u +%H:%M:%S)] $*" >&2; }
mkdir -p "$OUT/bin"

# binary REV_OR_PATH: prints the path of a binary built from it.
binary() {
  if [ -f "$1" ]; then echo "$1"; return; fi
  local rev dir
  rev=$(git -C "$REPO" rev-parse --short "$1")
  if [ ! -x "$OUT/bin/todo-api-$rev" ]; then
    dir=$(mktemp -d)
    git -C "$REPO" archive "$rev" | tar -x -C "$dir"
    (cd "$dir" && go build -o "$OUT/bin/todo-api-$rev" .) >&2
    rm -rf "$dir"
  fi
  echo "$OUT/bin/todo-api-$rev"
}
BIN_A=$(binary "$A"); BIN_B=$(binary "$B")
log "A = $A ($BIN_A) ${TARGET_ENV_A:-}; B = $B ($BIN_B) ${TARGET_ENV_B:-}"
(cd "$REPO" && go build -o "$OUT/sqliteseed" ./bench/sqliteseed)
python3 "$SCRIPT_DIR/seed.py" --out "$OUT" --no-load >&2

. "$SCRIPT_DIR/lib.sh"   # migrate_with

[ "$DB" = pg ] && pg_up
for side in A B; do rm -f "$OUT/ab-$side.db" "$OUT/ab-$side.db-wal" "$OUT/ab-$side.db-shm" "$OUT/ab-$side.db.seed"; done

# run SIDE BIN ENV ROUND: one target.sh run of one side, on that side's schema.
run() {
  local side=$1 bin=$2 env=$3 r=$4 url reseed dbf
  if [ "$DB" = pg ]; then
    url=$PG_URL
    "$SCRIPT_DIR/reseed.sh" --schema
    migrate_with "$bin" "$url"
    reseed="$SCRIPT_DIR/reseed.sh"
  else
    dbf=$OUT/ab-$side.db
    url="sqlite:$dbf"
    [ -f "$dbf" ] || migrate_with "$bin" "$url"
    reseed="$OUT/sqliteseed -copy $OUT/tasks.copy -db $dbf"
  fi
  TARGET_ENV=$env TARGET_DB_URL=$url RESEED=$reseed BENCH_SMOKE=${BENCH_SMOKE:-0} \
    "$SCRIPT_DIR/target.sh" "ab-$side-r$r" "exec '$bin'" "$PORT"
}
for r in $(seq 1 "$ROUNDS"); do
  run A "$BIN_A" "${TARGET_ENV_A:-}" "$r"
  run B "$BIN_B" "${TARGET_ENV_B:-}" "$r"
done

python3 - "$OUT/results.tsv" "$SINCE" "$A ${TARGET_ENV_A:-}" "$B ${TARGET_ENV_B:-}" <<'EOF' | tee -a "$OUT/ab.md"
import csv, statistics, sys
path, since, a_name, b_name = sys.argv[1:5]
rows = [r for r in csv.DictReader(open(path), delimiter="\t") if r["date"] >= since and r["name"].startswith("ab-")]
by = {}
for r in rows:
    side, rnd = r["name"].split("-")[1], r["name"].split("-")[2]
    by.setdefault(r["workload"], {}).setdefault(side, {})[rnd] = r
print(f"\nA = {a_name}\nB = {b_name}\n")
print("| workload | A req/s (median) | B req/s (median) | B ÷ A | per round | A p99 ms | B p99 ms | service CPU µs/req A → B | errors A/B | foreign CPU % A / B |")
print("|---|--:|--:|--:|---|--:|--:|--:|--:|---|")
for w, sides in by.items():
    a, b = sides.get("A", {}), sides.get("B", {})
    med = lambda s, k: statistics.median(float(x[k]) for x in s.values()) if s else float("nan")
    per = [f"{float(b[k]['rps']) / float(a[k]['rps']):.2f}" for k in sorted(a) if k in b]
    err = f"{sum(int(x['errors']) for x in a.values())}/{sum(int(x['errors']) for x in b.values())}"
    fa = ",".join(x.get("foreign_cpu_pct", "") for x in a.values()); fb = ",".join(x.get("foreign_cpu_pct", "") for x in b.values())
    try:
        ca, cb = med(a, 'cpu_us_per_req'), med(b, 'cpu_us_per_req')
        cpu = f"{ca:.0f} → {cb:.0f} ({cb / ca - 1:+.0%})"
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        cpu = "-"
    print(f"| {w} | {med(a, 'rps'):,.0f} | {med(b, 'rps'):,.0f} | {med(b, 'rps') / med(a, 'rps'):.2f} | {' '.join(per)} | {med(a, 'p99_ms'):.1f} | {med(b, 'p99_ms'):.1f} | {cpu} | {err} | {fa} / {fb} |")
EOF
