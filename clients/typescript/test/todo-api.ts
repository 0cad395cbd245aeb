// Starts the real todo-api binary on a free port with a fresh SQLite file,
// for tests that talk to it over HTTP. TODO_API_BIN names a built binary
// (.ci/run builds one); without it, the binary is built with `go build`.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface TodoAPI {
  baseUrl: string;
  /** Mints a token with `todo-api token`; ttl like "1h" or "-1h" (expired). */
  token(user: string, ttl?: string): string;
  stop(): Promise<void>;
}

const repo = fileURLToPath(new URL("../../..", import.meta.url));

export async function startTodoAPI(extraEnv: Record<string, string> = {}): Promise<TodoAPI> {
  const dir = mkdtempSync(join(tmpdir(), "todo-api-client-"));
  let bin = process.env.TODO_API_BIN;
  if (!bin) {
    bin = join(dir, "todo-api");
    execFileSync("go", ["build", "-o", bin, "."], { cwd: repo, stdio: "inherit" });
  }
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    APP_ENV: "development",
    DATABASE_URL: `sqlite:${join(dir, "todo.db")}`,
    BETTER_AUTH_SECRET: "client-test-secret-0123456789abcdef0123",
    CORS_ORIGINS: "http://localhost:3000",
    ...extraEnv,
  };
  // cwd is the temp dir, so that no .env of the developer's is read.
  const child: ChildProcess = spawn(bin, [], { cwd: dir, env, stdio: ["ignore", "ignore", "inherit"] });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(baseUrl, child);
  return {
    baseUrl,
    token: (user, ttl = "1h") => execFileSync(bin, ["token", "-ttl", ttl, user], { cwd: dir, env }).toString().trim(),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? done(address.port) : fail(new Error("no port"))));
    });
  });
}

async function waitReady(baseUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`todo-api exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("todo-api did not become ready within 30 s");
}
