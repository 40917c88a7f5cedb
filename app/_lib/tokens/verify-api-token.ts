/**
 * Looks up a presented API token by its SHA-256; records when it was last used. Returns
 * null for an unknown or revoked token (the caller answers 401 without saying which).
 */
import type { Role } from "../auth/permissions";
import type { Db } from "../db";
import { hashApiToken, looksLikeApiToken } from "./token-format";

export async function verifyApiToken(options: {
  db: Db;
  token: string;
}): Promise<{ id: string; name: string; role: Role; policyAsCode: boolean } | null> {
  if (!looksLikeApiToken(options.token)) return null;
  const row = await options.db.apiToken.findUnique({
    where: { tokenHash: hashApiToken(options.token) },
    select: { id: true, name: true, role: true, policyAsCode: true, revokedAt: true },
  });
  if (!row || row.revokedAt) return null;
  await options.db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  return { id: row.id, name: row.name, role: row.role, policyAsCode: row.policyAsCode };
}
