"use client";

import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

// No baseURL: Better Auth is served by this app, on the page's own origin.
export const authClient = createAuthClient({ plugins: [jwtClient()] });
