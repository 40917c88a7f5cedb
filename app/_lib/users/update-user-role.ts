/**
 * Changes a user's role (`user.role_change`); effective on their next request (roles are read
 * from the database on every request). The last admin cannot be demoted: someone must always be
 * able to manage users. A demotion revokes the user's API tokens above the new role
 * (revoke-creator-tokens.ts). A user who signs in with single sign-on gets the role their
 * provider's groups map to at each sign-in (app/_lib/auth/sso.ts), whatever was set here.
 */
import "server-only";
import type { z } from "zod";
import { revokeCreatorTokens } from "@/app/_lib/tokens/revoke-creator-tokens";
import type { PrismaClient } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { AppError, notFound } from "@/server/domain/errors";
import { lockUserRoles } from "@/server/domain/users/lock-user-roles";
import { updateUserInput } from "@/server/domain/users/user-input";

export async function updateUserRole(options: {
  db: PrismaClient;
  id: string;
  input: z.input<typeof updateUserInput>;
  actor?: Actor;
}): Promise<void> {
  const { role } = updateUserInput.parse(options.input);
  await options.db.$transaction(async (tx) => {
    // Serialise role changes so two admins demoting each other cannot leave zero admins.
    await lockUserRoles(tx);
    const user = await tx.user.findUnique({ where: { id: options.id } });
    if (!user) throw notFound("User");
    if (user.role === "admin" && role !== "admin") {
      const admins = await tx.user.count({ where: { role: "admin" } });
      if (admins <= 1) throw new AppError("conflict", "This is the last admin; make someone else admin first");
    }
    await tx.user.update({ where: { id: user.id }, data: { role } });
    const revoked = await revokeCreatorTokens(tx, user.id, role);
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "user.role_change",
      target: user.email,
      summary: `Role ${user.role} → ${role}${revoked > 0 ? `; ${revoked} API token(s) they created above ${role} revoked` : ""}`,
      details: { from: user.role, to: role },
    });
  });
}
