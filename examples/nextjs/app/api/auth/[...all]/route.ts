// Better Auth's endpoints: sign-up, sign-in, session, /api/auth/token (the
// JWT for todo-api) and /api/auth/jwks (the public keys todo-api verifies with).
import { toNextJsHandler } from "better-auth/next-js";

import { auth } from "@/lib/auth";

export const { GET, POST } = toNextJsHandler(auth);
