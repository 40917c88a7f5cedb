/**
 * Removes a user (`user.delete`): their sessions go with them and every API token they created
 * is revoked (kept for the record). Never yourself, never the last admin.
 */
import "server-only";
import { revokeCreatorTokens } from "@/app/_lib/tokens/revoke-creator-tokens";
import type { PrismaClient } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { AppError, notFound } from "@/server/domain/errors";
import { lockUserRoles } from "@/server/domain/users/lock-user-roles";

export async function deleteUser(options: {
  db: PrismaClient;
  id: string;
  actorId: string | null;
  actor?: Actor;
}): Promise<void> {
  if (options.id === options.actorId) {
    throw new AppError("conflict", "You cannot remove your own account; ask another admin");
  }
  await options.db.$transaction(async (tx) => {
    await lockUserRoles(tx);
    const user = await tx.user.findUnique({ where: { id: options.id } });
    if (!user) throw notFound("User");
    if (user.role === "admin" && (await tx.user.count({ where: { role: "admin" } })) <= 1) {
      throw new AppError("conflict", "This is the last admin and cannot be removed");
    }
    const revoked = await revokeCreatorTokens(tx, user.id, null);
    await tx.user.delete({ where: { id: user.id } });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "user.delete",
      target: user.email,
      summary: `Removed ${user.role} ${user.email}; their sessions ended${revoked > 0 ? ` and ${revoked} API token(s) they created were revoked` : ""}`,
    });
  });
}
