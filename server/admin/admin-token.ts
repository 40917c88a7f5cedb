/**
 * Short-lived tokens that let a signed-in dashboard user reach the gateway's admin
 * endpoints (`/admin/stream`, `/admin/tester/...`). The dashboard mints them for the
 * current user (POST /api/v1/admin-token); the gateway verifies them. Both read the HMAC
 * key from the `setting` table (SETTING_ADMIN_TOKEN_KEY), so no configuration is needed and
 * every gateway of a fleet accepts them. Same JWT rules as tenant handshake tokens
 * (server/policy/token.ts: HS256 only, exp required), with their own audience.
 */
import { signHandshakeToken, verifyHandshakeToken } from "../policy/token";

export const ADMIN_AUDIENCE = "origingate-admin";
export const ADMIN_TOKEN_TTL_SECONDS = 60;
export type AdminScope = "stream" | "tester";
export type AdminRole = "viewer" | "editor" | "admin";

export interface AdminClaims {
  sub: string;
  role: AdminRole;
  scope: AdminScope;
  /** Shown in audit events of tester runs ("who"). */
  name: string;
}

export function signAdminToken(
  claims: AdminClaims,
  key: string,
  now = Date.now(),
  ttlSeconds = ADMIN_TOKEN_TTL_SECONDS,
): string {
  return signHandshakeToken(
    { ...claims, aud: ADMIN_AUDIENCE, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + ttlSeconds },
    key,
  );
}

export function verifyAdminToken(
  token: string,
  key: string,
  scope: AdminScope,
  now = Date.now(),
): { ok: true; claims: AdminClaims } | { ok: false; message: string } {
  const result = verifyHandshakeToken(token, key, ADMIN_AUDIENCE, now);
  if (!result.ok) return result;
  const { sub, role, scope: tokenScope, name } = result.claims;
  if (typeof sub !== "string" || typeof name !== "string" || !["viewer", "editor", "admin"].includes(role as string)) {
    return { ok: false, message: "token does not name a user and role" };
  }
  if (tokenScope !== scope) return { ok: false, message: `token is for ${String(tokenScope)}, not ${scope}` };
  return { ok: true, claims: { sub, name, role: role as AdminRole, scope } };
}
