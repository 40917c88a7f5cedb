/** Better Auth's browser client (same origin: /api/auth), with the second-factor endpoints. */
import { twoFactorClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({ plugins: [twoFactorClient()] });
