// The Better Auth server. Only server code imports this (the route handler
// and the pages that read the session); the browser uses lib/auth-client.ts.
import { betterAuth } from "better-auth";

import { authOptions } from "./auth-options.mjs";

export const auth = betterAuth(authOptions());
