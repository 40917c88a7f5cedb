/**
 * Changes a user's role; effective on their next request (roles are read from the
 * database on every request). The last admin cannot be demoted: someone must always be
 * able to manage users.
 */
import "server-only";
import type { z } from "zod";
import type { PrismaClient } from "../../../server/db/prisma";
import { AppError, notFound } from "../errors";
import { updateUserInput } from "./user-input";

export async function updateUserRole(options: {
  db: PrismaClient;
  id: string;
  input: z.input<typeof updateUserInput>;
}): Promise<void> {
  const { role } = updateUserInput.parse(options.input);
  await options.db.$transaction(async (tx) => {
    // Serialise role changes so two admins demoting each other cannot leave zero admins.
    await tx.$executeRaw`select pg_advisory_xact_lock(hashtext('origingate:user-roles'))`;
    const user = await tx.user.findUnique({ where: { id: options.id } });
    if (!user) throw notFound("User");
    if (user.role === "admin" && role !== "admin") {
      const admins = await tx.user.count({ where: { role: "admin" } });
      if (admins <= 1) throw new AppError("conflict", "This is the last admin; make someone else admin first");
    }
    await tx.user.update({ where: { id: user.id }, data: { role } });
  });
}
