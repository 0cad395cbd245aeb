"use client";

import { createTodoClient, type TodoClient } from "todo-api-client";

import { authClient } from "./auth-client";

// The token, cached as docs/frontend.md says: a Better Auth token lives 15
// minutes, so a new one is fetched a minute before exp, and at once when
// todo-api answers 401 (the client then asks with forceRefresh: true).
let cached: { token: string; exp: number } | undefined;

async function apiToken({ forceRefresh }: { forceRefresh: boolean }): Promise<string> {
  if (!forceRefresh && cached && cached.exp - Date.now() / 1000 > 60) return cached.token;
  const { data, error } = await authClient.token();
  if (error || !data) throw new Error("Not signed in: sign in again.");
  cached = { token: data.token, exp: expiry(data.token) };
  return cached.token;
}

function expiry(token: string): number {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return (JSON.parse(atob(payload)) as { exp: number }).exp;
}

/** Forgets the token, on sign-out, so that the next user never gets it. */
export function forgetToken(): void {
  cached = undefined;
}

/** apiFor returns the client for the signed-in user (the token's sub). */
export function apiFor(userId: string): TodoClient {
  const baseUrl = process.env.NEXT_PUBLIC_API_URL;
  if (!baseUrl) throw new Error("NEXT_PUBLIC_API_URL is not set: see .env.example");
  return createTodoClient({ baseUrl, userId, getToken: apiToken });
}
