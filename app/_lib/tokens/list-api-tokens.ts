/** API tokens, newest first (never the token or its hash). */
import "server-only";
import type { Db } from "../db";
import type { ApiTokenView } from "./create-api-token";

export async function listApiTokens(options: { db: Db }): Promise<ApiTokenView[]> {
  const rows = await options.db.apiToken.findMany({
    orderBy: [{ revokedAt: { sort: "desc", nulls: "first" } }, { createdAt: "desc" }],
    include: { createdBy: { select: { email: true } } },
  });
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    role: row.role,
    policyAsCode: row.policyAsCode,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy?.email ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  }));
}
