/**
 * Replaces a tenant's token secret (HS256 key of its handshake JWTs) and returns the new
 * one — the only time it ever leaves the server. Tokens signed with the old secret stop
 * working as soon as gateways reload (the tenant trigger bumps the policy generation).
 */
import "server-only";
import { newSecret } from "../../../server/db/settings";
import type { Db } from "../db";
import { findTenant } from "./find-tenant";

export async function rotateTenantSecret(options: {
  db: Db;
  slug: string;
  now?: Date;
}): Promise<{ tokenSecret: string; rotatedAt: string }> {
  const tenant = await findTenant(options);
  const tokenSecret = newSecret();
  const rotatedAt = options.now ?? new Date();
  await options.db.tenant.update({ where: { id: tenant.id }, data: { tokenSecret, tokenSecretRotatedAt: rotatedAt } });
  return { tokenSecret, rotatedAt: rotatedAt.toISOString() };
}
