#!/usr/bin/env bash
# install-check.sh TODO_API_BIN: the client as a user of the package gets it.
# Packs the tarball (prepack builds dist/), checks what it holds, installs it
# into a fresh project, and the folder into another, and in each type-checks
# a small TypeScript script against the installed types and runs it against
# the todo-api binary, started here on a free port with a fresh SQLite file.
set -euo pipefail

bin=$(readlink -f "${1:?usage: install-check.sh TODO_API_BIN}")
pkg=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tsc="$pkg/node_modules/.bin/tsc" # the package's own, pinned TypeScript (npm ci first)
[[ -x $tsc ]] || { echo "install-check: $tsc is missing; run npm ci in $pkg" >&2; exit 1; }
work=$(mktemp -d /tmp/todo-api-client-install.XXXXXX)
server=
cleanup() {
	if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
npm_quiet=(--no-audit --no-fund --loglevel=error)

echo "== npm pack"
tarball=$(cd "$pkg" && npm pack --pack-destination "$work" --json "${npm_quiet[@]}" |
	node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s)[0].filename))')
tarball="$work/$tarball"
contents=$(tar -tzf "$tarball" | sort)
echo "$contents"
for want in package/package.json package/README.md package/LICENSE package/dist/index.js package/dist/index.d.ts \
	package/dist/client.js package/dist/errors.js package/dist/schema.d.ts; do
	grep -qx "$want" <<<"$contents" || { echo "install-check: $want is not in the tarball" >&2; exit 1; }
done
if grep -E '^package/(src|test|scripts|node_modules)/' <<<"$contents"; then
	echo "install-check: the tarball carries sources or tests" >&2
	exit 1
fi

echo "== todo-api on a free port"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
secret=$(head -c 32 /dev/urandom | base64)
mkdir "$work/server"
(cd "$work/server" && PORT=$port APP_ENV=development DATABASE_URL="sqlite:$work/server/todo.db" \
	BETTER_AUTH_SECRET=$secret exec "$bin" >"$work/server/log" 2>&1) &
server=$!
for ((i = 0; i < 300; i++)); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || { cat "$work/server/log" >&2; exit 1; }

for source in tarball folder; do
	echo "== a fresh project installing the $source"
	project="$work/project-$source"
	mkdir "$project"
	cd "$project"
	npm init -y >/dev/null
	npm pkg set type=module
	if [[ $source == tarball ]]; then npm install "${npm_quiet[@]}" "$tarball"; else npm install "${npm_quiet[@]}" "$pkg"; fi
	cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2022", "DOM"], "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "types": [], "outDir": "out", "skipLibCheck": false
  },
  "include": ["check.ts"]
}
JSON
	cat >check.ts <<'TS'
import { ApiError, createTodoClient, etagOf, type Task, type TaskCreate } from "todo-api-client";

declare const process: { argv: string[]; exitCode?: number };
const [baseUrl, token, user] = process.argv.slice(2) as [string, string, string];

// @ts-expect-error id is read-only: TaskCreate does not offer it
const refused: TaskCreate = { title: "x", id: 1 };
void refused;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const api = createTodoClient({ baseUrl, userId: user, getToken: () => token });
const body: TaskCreate = { title: "from the installed package", tags: ["Install"] };
const { task, etag } = await api.createTask(body);
check(task.user_id === user && task.tags[0] === "install" && etag === etagOf(task), "create");
const page = await api.listTasks({ tag: ["install"] });
check(page.tasks.some((t: Task) => t.id === task.id) && page.total >= 1, "list");
const edited = await api.updateTask(task.id, { description: "edited" }, { ifMatch: etag });
const stale = await api.updateTask(task.id, { title: "lost" }, { ifMatch: etag }).catch((e: unknown) => e);
check(stale instanceof ApiError && stale.isPreconditionFailed, "412 on a stale If-Match");
check((await api.toggleTask(task.id, { ifMatch: edited.etag })).task.completed, "toggle");
await api.deleteTask(task.id);
const gone = await api.getTask(task.id).catch((e: unknown) => e);
check(gone instanceof ApiError && gone.status === 404, "404 after delete");
console.log(`ok: task ${task.id} created, listed, edited, refused with 412, toggled and deleted`);
TS
	"$tsc" -p .
	node out/check.js "http://127.0.0.1:$port" "$(cd "$work/server" && BETTER_AUTH_SECRET=$secret "$bin" token "install-$source")" "install-$source"
done
echo "== the package installs and works from the tarball and from the folder"
