/**
 * Looks up a presented API token by its SHA-256. Returns null for an unknown, revoked or
 * expired token, and for a token scoped to a tenant that was deleted (its scope never widens
 * to every tenant); the caller answers 401 without saying which.
 *
 * Last use (`api_token.last_used_at`, shown in the tokens list) is recorded off the request
 * path: at most once a minute per token and process, not awaited, so a busy automation token
 * does not cost a database write per request. A failed write is logged and retried on the
 * next use.
 */
import "server-only";
import { log } from "@/app/_lib/log";
import type { Db } from "@/server/db/prisma";
import type { Role } from "@/server/domain/auth/permissions";
import { hashApiToken, looksLikeApiToken } from "@/server/domain/tokens/token-format";

export const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_REMEMBERED = 10_000;
/** Token id → when this process last wrote its last_used_at. */
const written = new Map<string, number>();

function recordUse(db: Db, id: string, now: number): void {
  const last = written.get(id);
  if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
  if (written.size >= MAX_REMEMBERED) {
    for (const [key, at] of written) if (now - at >= LAST_USED_RESOLUTION_MS) written.delete(key);
    if (written.size >= MAX_REMEMBERED) written.clear();
  }
  written.set(id, now);
  db.apiToken.updateMany({ where: { id }, data: { lastUsedAt: new Date(now) } }).catch((error: unknown) => {
    written.delete(id);
    log().warn({ err: (error as Error).message }, "recording an API token's last use failed");
  });
}

export interface VerifiedApiToken {
  id: string;
  name: string;
  role: Role;
  /** Scoped for policy as code (may write tenants managed by code). */
  policyAsCode: boolean;
  /** The tenant (slug) the token is limited to, or null for every tenant. */
  tenant: string | null;
  expiresAt: Date;
}

export async function verifyApiToken(options: {
  db: Db;
  token: string;
  now?: number;
}): Promise<VerifiedApiToken | null> {
  if (!looksLikeApiToken(options.token)) return null;
  const row = await options.db.apiToken.findUnique({
    where: { tokenHash: hashApiToken(options.token) },
    select: {
      id: true,
      name: true,
      role: true,
      policyAsCode: true,
      revokedAt: true,
      expiresAt: true,
      scopeTenant: true,
      scopeTenantId: true,
    },
  });
  const now = options.now ?? Date.now();
  if (!row || row.revokedAt || row.expiresAt.getTime() <= now) return null;
  if (row.scopeTenant !== null && row.scopeTenantId === null) return null;
  recordUse(options.db, row.id, now);
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    policyAsCode: row.policyAsCode,
    tenant: row.scopeTenant,
    expiresAt: row.expiresAt,
  };
}
