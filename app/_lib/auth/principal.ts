/**
 * Who is calling: a signed-in user (session cookie) or an API token (Authorization:
 * Bearer og_...). A request that presents an Authorization header is judged by it alone;
 * an invalid token is refused, never silently replaced by the cookie.
 *
 * `tenant` is the tenant an API token is limited to (null: every tenant; users are never
 * limited). `secondFactorPending` marks an admin who signs in with a password while
 * REQUIRE_2FA_FOR_ADMINS is on and has not enrolled TOTP yet: apiRoute and the console pages
 * let them do nothing but enrol (and sign out).
 */

import "server-only";
import { getPrisma } from "@/app/_lib/db";
import { verifyApiToken } from "@/app/_lib/tokens/verify-api-token";
import { config } from "@/server/config";
import { isRole, type Role } from "@/server/domain/auth/permissions";
import { AppError } from "@/server/domain/errors";
import { getAuth } from "./auth";

export type Principal =
  | {
      kind: "user";
      id: string;
      email: string;
      name: string;
      role: Role;
      label: string;
      sessionId: string;
      tenant: null;
      secondFactorPending: boolean;
    }
  | {
      kind: "token";
      id: string;
      name: string;
      role: Role;
      label: string;
      tenant: string | null;
      expiresAt: string;
      policyAsCode: boolean;
    };

export type Authentication = { principal: Principal; via: "cookie" | "bearer" } | null;

export async function authenticate(headers: Headers): Promise<Authentication> {
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new AppError("unauthorized", "Authorization must be: Bearer <api token>");
    const token = await verifyApiToken({ db: getPrisma(), token: match[1] });
    if (!token) throw new AppError("unauthorized", "The API token is invalid, revoked or expired");
    return {
      via: "bearer",
      principal: {
        kind: "token",
        id: token.id,
        name: token.name,
        role: token.role,
        label: `token:${token.name}`,
        tenant: token.tenant,
        expiresAt: token.expiresAt.toISOString(),
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
  const user = session.user as typeof session.user & { role?: unknown; twoFactorEnabled?: unknown };
  const role = isRole(user.role) ? user.role : "viewer";
  return {
    kind: "user",
    id: user.id,
    email: user.email,
    name: user.name,
    role,
    label: user.email,
    sessionId: session.session.id,
    tenant: null,
    secondFactorPending: role === "admin" && user.twoFactorEnabled !== true && (await mustEnrolSecondFactor(user.id)),
  };
}

/** REQUIRE_2FA_FOR_ADMINS applies to password users (single sign-on leaves the second factor to the provider). */
async function mustEnrolSecondFactor(userId: string): Promise<boolean> {
  if (!config().REQUIRE_2FA_FOR_ADMINS) return false;
  const password = await getPrisma().account.count({ where: { userId, providerId: "credential" } });
  return password > 0;
}
