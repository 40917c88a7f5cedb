/** API tokens, newest first (never the token or its hash). */
import "server-only";
import type { Db } from "../../db/prisma";
import { type ApiTokenView, toApiTokenView } from "./create-api-token";

export async function listApiTokens(options: { db: Db }): Promise<ApiTokenView[]> {
  const rows = await options.db.apiToken.findMany({
    orderBy: [{ revokedAt: { sort: "desc", nulls: "first" } }, { createdAt: "desc" }],
    include: { createdBy: { select: { email: true } } },
  });
  return rows.map(toApiTokenView);
}
