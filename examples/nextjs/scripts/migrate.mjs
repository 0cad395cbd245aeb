// npm run migrate: creates or updates Better Auth's tables (user, session,
// account, verification, and the jwt plugin's jwks) in DATABASE_URL with
// Better Auth's own migrations. Safe to run again: it only adds what is missing.
import { existsSync } from "node:fs";

import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";

import { authOptions } from "../lib/auth-options.mjs";

// The same files `next` reads; variables already set win.
for (const file of [".env.local", ".env"]) {
  if (existsSync(file)) process.loadEnvFile(file);
}
if (!process.env.DATABASE_URL) {
  console.error("migrate: DATABASE_URL is not set (see .env.example)");
  process.exit(2);
}

const options = authOptions();
const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(betterAuth(options).options);
if (toBeCreated.length === 0 && toBeAdded.length === 0) {
  console.log("migrate: Better Auth's schema is up to date");
} else {
  await runMigrations();
  console.log(`migrate: created ${toBeCreated.map((t) => t.table).join(", ") || "no table"}; added columns to ${toBeAdded.map((t) => t.table).join(", ") || "no table"}`);
}
await options.database.end();
