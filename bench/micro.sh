#!/usr/bin/env bash
# Micro-benchmarks of two revisions, alternated, compared with benchstat.
#
#   bench/micro.sh A B [PACKAGES] [BENCH_REGEX] [COUNT]
#   e.g. bench/micro.sh HEAD~1 HEAD ./controllers EncodePage 8
#
# A and B are git revisions; "." means the work tree as it is. Each side's test
# binaries are built once (git archive, so the work tree is not touched), then run
# A, B, A, B, ... COUNT times each (default 8) with -benchtime 1s, so that both see
# the same machine, and benchstat compares them. PACKAGES defaults to the packages
# that hold the hot-path benchmarks: ./controllers ./middleware.
# Needs benchstat: go install golang.org/x/perf/cmd/benchstat@latest
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
if [ $# -lt 2 ]; then sed -n '2,12p' "$0" >&2; exit 2; fi
A=$1; B=$2; PKGS=${3:-"./controllers ./middleware"}; RE=${4:-.}; COUNT=${5:-8}
export PATH="/usr/local/go/bin:$(go env GOPATH)/bin:$PATH"
command -v benchstat >/dev/null || { echo "micro.sh: benchstat missing (go install golang.org/x/perf/cmd/benchstat@latest)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

build() { # side rev
  local side=$1 rev=$2 src=$WORK/$1-src p
  if [ "$rev" = . ]; then src=$REPO; else mkdir -p "$src"; git -C "$REPO" archive "$rev" | tar -x -C "$src"; fi
  for p in $PKGS; do
    (cd "$src" && go test -c -o "$WORK/$side-$(basename "$p").test" "$p")
  done
}
build A "$A"; build B "$B"
for i in $(seq 1 "$COUNT"); do
  for side in A B; do
    for p in $PKGS; do
      t=$WORK/$side-$(basename "$p").test
      [ -x "$t" ] || continue
      (cd "$REPO/$p" && "$t" -test.run '^$' -test.bench "$RE" -test.benchmem -test.count 1) | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$WORK/$side.txt" || true
    done
  done
done
cp "$WORK/A.txt" "${TMPDIR:-/tmp}/micro-A.txt"; cp "$WORK/B.txt" "${TMPDIR:-/tmp}/micro-B.txt"
benchstat "A=$WORK/A.txt" "B=$WORK/B.txt"
