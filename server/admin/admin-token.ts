/**
 * Short-lived tokens that let a signed-in dashboard user (or an API token) reach the
 * gateway's admin endpoints (`/admin/stream`, `/admin/tester/...`). The dashboard mints them
 * for the current principal (app/_lib/admin/mint-admin-token.ts: `POST
 * /api/v1/audit/stream-token` for the live feed, and the tester routes); the gateway verifies
 * them. Both read the HMAC key from the `setting` table (SETTING_ADMIN_TOKEN_KEY), so no
 * configuration is needed and every gateway of a fleet accepts them. Same JWT rules as tenant
 * handshake tokens (server/policy/token.ts: HS256 only, exp required), with their own audience.
 *
 * Claims: `sub` (user or API-token id), `kind` (`user` | `token`), `sid` (the session a user
 * signed in with), `role`, `scope`, `name` (what audit rows show), `tenant` (an API token limited
 * to one tenant: the stream shows only that tenant, the tester reaches only it) and a random `jti`. A stream
 * token must name its principal (kind, and sid for a user): the gateway uses the jti once
 * (server/db/admin-queries.ts) and re-checks that session or API token while the stream is open.
 */
import { randomBytes } from "node:crypto";
import { signHandshakeToken, verifyHandshakeToken } from "../policy/token";

export const ADMIN_AUDIENCE = "origingate-admin";
export const ADMIN_TOKEN_TTL_SECONDS = 60;
export type AdminScope = "stream" | "tester";
export type AdminRole = "viewer" | "editor" | "admin";
export type AdminPrincipalKind = "user" | "token";

export interface AdminClaims {
  sub: string;
  role: AdminRole;
  scope: AdminScope;
  /** Shown in audit events of tester runs ("who"). */
  name: string;
  /** Who stands behind the token: a signed-in user (with `sid`) or an API token. */
  kind?: AdminPrincipalKind;
  /** The user's session id (kind "user"). */
  sid?: string;
  /** The one tenant a scoped API token may see or test; absent = every tenant. */
  tenant?: string;
}

export interface VerifiedAdminClaims extends AdminClaims {
  /** Unique per token: what single use is recorded under. */
  jti: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

export function signAdminToken(
  claims: AdminClaims,
  key: string,
  now = Date.now(),
  ttlSeconds = ADMIN_TOKEN_TTL_SECONDS,
): string {
  return signHandshakeToken(
    {
      ...claims,
      jti: randomBytes(16).toString("base64url"),
      aud: ADMIN_AUDIENCE,
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + ttlSeconds,
    },
    key,
  );
}

export function verifyAdminToken(
  token: string,
  key: string,
  scope: AdminScope,
  now = Date.now(),
): { ok: true; claims: VerifiedAdminClaims } | { ok: false; message: string } {
  const result = verifyHandshakeToken(token, key, ADMIN_AUDIENCE, now);
  if (!result.ok) return result;
  const { sub, role, scope: tokenScope, name, kind, sid, jti, exp, tenant } = result.claims;
  if (typeof sub !== "string" || typeof name !== "string" || !["viewer", "editor", "admin"].includes(role as string)) {
    return { ok: false, message: "token does not name a user and role" };
  }
  if (tokenScope !== scope) return { ok: false, message: `token is for ${String(tokenScope)}, not ${scope}` };
  if (typeof jti !== "string" || jti === "" || typeof exp !== "number") {
    return { ok: false, message: "token has no id or expiry" };
  }
  if (kind !== undefined && kind !== "user" && kind !== "token")
    return { ok: false, message: "unknown principal kind" };
  if (sid !== undefined && typeof sid !== "string") return { ok: false, message: "bad session id" };
  if (tenant !== undefined && (typeof tenant !== "string" || tenant === "")) {
    return { ok: false, message: "bad tenant scope" };
  }
  if (scope === "stream" && (kind === undefined || (kind === "user" && !sid))) {
    return { ok: false, message: "a stream token must name its session or API token" };
  }
  return {
    ok: true,
    claims: {
      sub,
      name,
      role: role as AdminRole,
      scope,
      jti,
      exp,
      ...(kind === undefined ? {} : { kind }),
      ...(sid === undefined ? {} : { sid: sid as string }),
      ...(tenant === undefined ? {} : { tenant: tenant as string }),
    },
  };
}
