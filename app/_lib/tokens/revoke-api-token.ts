/** Revokes an API token (kept for the record, refused from now on). Idempotent. */
import "server-only";
import { z } from "zod";
import type { Db } from "../db";
import { notFound } from "../errors";

export async function revokeApiToken(options: { db: Db; id: string }): Promise<void> {
  const id = z.uuid().safeParse(options.id);
  if (!id.success) throw notFound("API token");
  const result = await options.db.apiToken.updateMany({
    where: { id: id.data, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  if (result.count === 0) {
    const exists = await options.db.apiToken.findUnique({ where: { id: id.data }, select: { id: true } });
    if (!exists) throw notFound("API token");
  }
}
