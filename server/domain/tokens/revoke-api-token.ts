/** Revokes an API token (`token.revoke`; kept for the record, refused from now on). Idempotent. */
import "server-only";
import { z } from "zod";
import { type Db, inTransaction } from "../../db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "../activity/record-activity";
import { notFound } from "../errors";

export async function revokeApiToken(options: { db: Db; id: string; actor?: Actor }): Promise<void> {
  const id = z.uuid().safeParse(options.id);
  if (!id.success) throw notFound("API token");
  await inTransaction(options.db, async (tx) => {
    const token = await tx.apiToken.findUnique({
      where: { id: id.data },
      select: { name: true, prefix: true, revokedAt: true },
    });
    if (!token) throw notFound("API token");
    const result = await tx.apiToken.updateMany({
      where: { id: id.data, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "token.revoke",
      target: token.name,
      summary:
        result.count > 0
          ? `Revoked API token "${token.name}" (${token.prefix}…)`
          : `Revoked API token "${token.name}" (${token.prefix}…), which was already revoked`,
      details: { tokenId: id.data },
    });
  });
}
