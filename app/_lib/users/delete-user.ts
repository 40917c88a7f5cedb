/** Removes a user (their sessions go with them; tokens they created stay, unowned). Never the last admin. */
import "server-only";
import type { PrismaClient } from "../../../server/db/prisma";
import { AppError, notFound } from "../errors";

export async function deleteUser(options: { db: PrismaClient; id: string; actorId: string | null }): Promise<void> {
  if (options.id === options.actorId) {
    throw new AppError("conflict", "You cannot remove your own account; ask another admin");
  }
  await options.db.$transaction(async (tx) => {
    await tx.$executeRaw`select pg_advisory_xact_lock(hashtext('origingate:user-roles'))`;
    const user = await tx.user.findUnique({ where: { id: options.id } });
    if (!user) throw notFound("User");
    if (user.role === "admin" && (await tx.user.count({ where: { role: "admin" } })) <= 1) {
      throw new AppError("conflict", "This is the last admin and cannot be removed");
    }
    await tx.user.delete({ where: { id: user.id } });
  });
}
