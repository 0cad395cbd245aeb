// The Better Auth options, in plain JavaScript so that both the app
// (lib/auth.ts) and the migration script (scripts/migrate.mjs, run by plain
// node) read the same plugins: the plugins decide the database schema.
import { jwt } from "better-auth/plugins";
import pg from "pg";

/** @returns {import("better-auth").BetterAuthOptions} */
export function authOptions() {
  return {
    // The tokens' iss and aud: todo-api's BETTER_AUTH_URL must be this, exactly.
    baseURL: process.env.BETTER_AUTH_URL,
    secret: process.env.BETTER_AUTH_SECRET,
    database: new pg.Pool({ connectionString: process.env.DATABASE_URL }),
    emailAndPassword: { enabled: true },
    telemetry: { enabled: false },
    // EdDSA (Ed25519) keys, the plugin's default; todo-api reads them from
    // BETTER_AUTH_URL/api/auth/jwks.
    plugins: [jwt()],
  };
}
