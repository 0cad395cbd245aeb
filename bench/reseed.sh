#!/usr/bin/env bash
# Reset table `tasks` to the seeded state: TRUNCATE + COPY bench/out/tasks.copy,
# reset the id sequence, VACUUM ANALYZE, CHECKPOINT. Every workload of every target
# starts from byte-identical data this way. The service's idempotency_keys table,
# when it exists, is emptied too.
#   --schema  first drop and recreate the table from schema.sql (do this only while no
#             target is connected)
# Env: DATABASE_URL (default: the one pg.sh prints), PGBIN.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DB_URL=${BENCH_DB_URL:-$("$SCRIPT_DIR/pg.sh" url)}
OUT=${BENCH_OUT:-$SCRIPT_DIR/out}; [ -n "${BENCH_OUT:-}" ] || [ -w "$SCRIPT_DIR" ] || OUT=/tmp/todo-bench-out  # shared copies are read-only
[ -f "$OUT/tasks.copy" ] || { echo "reseed.sh: $OUT/tasks.copy missing; run seed.py first" >&2; exit 1; }

{
  echo '\set ON_ERROR_STOP 1'
  echo "SET lock_timeout = '30s'; SET client_min_messages = warning;"
  if [ "${1:-}" = "--schema" ]; then cat "$SCRIPT_DIR/schema.sql"; fi
  # lists (a service with lists; the list-in-list workload fills it) goes with
  # the tasks that reference it.
  echo "DO \$\$ BEGIN IF to_regclass('lists') IS NOT NULL THEN TRUNCATE tasks, lists; END IF; END \$\$;"
  echo 'TRUNCATE tasks;'
  echo "DO \$\$ BEGIN IF to_regclass('idempotency_keys') IS NOT NULL THEN TRUNCATE idempotency_keys; END IF; END \$\$;"
  echo "\\copy tasks (id, user_id, title, description, completed, priority, due_date, created_at, updated_at) FROM '$OUT/tasks.copy'"
  echo "SELECT setval(pg_get_serial_sequence('tasks', 'id'), (SELECT max(id) FROM tasks));"
  echo 'VACUUM ANALYZE tasks;'
  echo 'CHECKPOINT;'
} | "$PGBIN/psql" -X -q "$DB_URL" >/dev/null
