/**
 * Who is calling: a signed-in user (session cookie) or an API token (Authorization:
 * Bearer og_...). A request that presents an Authorization header is judged by it alone;
 * an invalid token is refused, never silently replaced by the cookie.
 */

import "server-only";
import { getPrisma } from "../db";
import { AppError } from "../errors";
import { verifyApiToken } from "../tokens/verify-api-token";
import { getAuth } from "./auth";
import { isRole, type Role } from "./permissions";

export type Principal =
  | { kind: "user"; id: string; email: string; name: string; role: Role; label: string; sessionId: string }
  | { kind: "token"; id: string; name: string; role: Role; label: string; policyAsCode: boolean };

export type Authentication = { principal: Principal; via: "cookie" | "bearer" } | null;

export async function authenticate(headers: Headers): Promise<Authentication> {
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new AppError("unauthorized", "Authorization must be: Bearer <api token>");
    const token = await verifyApiToken({ db: getPrisma(), token: match[1] });
    if (!token) throw new AppError("unauthorized", "The API token is invalid or revoked");
    return {
      via: "bearer",
      principal: {
        kind: "token",
        id: token.id,
        name: token.name,
        role: token.role,
        label: `token:${token.name}`,
        policyAsCode: token.policyAsCode,
      },
    };
  }
  const user = await sessionUser(headers);
  return user ? { via: "cookie", principal: user } : null;
}

/** The signed-in user of a request (cookie session), or null. */
export async function sessionUser(headers: Headers): Promise<Extract<Principal, { kind: "user" }> | null> {
  if (!headers.get("cookie")) return null;
  const auth = await getAuth();
  const session = await auth.api.getSession({ headers });
  if (!session) return null;
  const role = (session.user as { role?: unknown }).role;
  return {
    kind: "user",
    id: session.user.id,
    email: session.user.email,
    name: session.user.name,
    role: isRole(role) ? role : "viewer",
    label: session.user.email,
    sessionId: session.session.id,
  };
}
