// Starts the todo-api binary for an end-to-end test: TODO_API_BIN names a
// built binary (.ci/run builds one); without it, `go build` makes one.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../..", import.meta.url));

/**
 * @param {Record<string, string>} extraEnv added to the service's environment
 * @returns {Promise<{baseUrl: string, token: (user: string, ttl?: string) => string, stop: () => Promise<void>}>}
 */
export async function startTodoAPI(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), "todo-api-e2e-"));
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
    BETTER_AUTH_SECRET: "e2e-test-secret-0123456789abcdef0123456",
    ...extraEnv,
  };
  // cwd is the temp dir, so that no .env of the developer's is read.
  const child = spawn(bin, [], { cwd: dir, env, stdio: ["ignore", "ignore", "inherit"] });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`todo-api exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error("todo-api did not become ready within 30 s");
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
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

/** A port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => done(port));
    });
  });
}
