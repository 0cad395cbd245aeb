// A real Better Auth server with its JWT plugin, for todo-api's end-to-end
// test (e2e_test.go starts it). It keeps its users, sessions and signing keys
// in PostgreSQL through the pure-JavaScript pg driver, creates its schema
// with Better Auth's own migrations, and listens on loopback only.
//
// Environment:
//   DATABASE_URL        postgres:// URL of an empty database (required)
//   BETTER_AUTH_URL     the base URL it is reached at, e.g. http://127.0.0.1:3000 (required)
//   BETTER_AUTH_SECRET  at least 32 characters (required)
//   JWT_ALG             EdDSA (Better Auth's default), ES256, ES512, PS256 or RS256
import http from "node:http";

import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import pg from "pg";

function required(name) {
	const value = process.env[name];
	if (!value) {
		console.error(`better-auth e2e server: ${name} is not set`);
		process.exit(2);
	}
	return value;
}

const baseURL = required("BETTER_AUTH_URL");
const alg = process.env.JWT_ALG || "EdDSA";
// EdDSA is the plugin's default: leave keyPairConfig out to test exactly that.
const keyPairConfig = {
	EdDSA: undefined,
	ES256: { alg: "ES256" },
	ES512: { alg: "ES512" },
	PS256: { alg: "PS256", modulusLength: 2048 },
	RS256: { alg: "RS256", modulusLength: 2048 },
}[alg];
if (alg !== "EdDSA" && !keyPairConfig) {
	console.error(`better-auth e2e server: JWT_ALG ${alg} is not one the JWT plugin supports`);
	process.exit(2);
}

const pool = new pg.Pool({ connectionString: required("DATABASE_URL") });
const options = {
	baseURL,
	secret: required("BETTER_AUTH_SECRET"),
	database: pool,
	emailAndPassword: { enabled: true },
	telemetry: { enabled: false },
	plugins: [jwt(keyPairConfig ? { jwks: { keyPairConfig } } : undefined)],
};
const auth = betterAuth(options);

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const { port } = new URL(baseURL);
const server = http.createServer(toNodeHandler(auth));
server.listen(Number(port), "127.0.0.1", () => {
	// e2e_test.go waits for this line.
	console.log(`better-auth ${alg} listening on ${baseURL}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
	process.on(signal, () => {
		server.close();
		pool.end().finally(() => process.exit(0));
	});
}
