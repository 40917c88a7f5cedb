/**
 * A token never carries more than the person who created it may do now:
 *  - a removed user's tokens are all revoked (the rows stay, with revokedAt, for the record);
 *  - a demoted user's tokens whose role is above the new role are revoked (an admin demoted to
 *    editor loses their admin tokens; a viewer token they made for a dashboard stays).
 * Called inside the transaction that removes or demotes the user (deleteUser, updateUserRole,
 * and the role a single sign-on maps at sign-in). Tokens made with `ctl` have no creator and
 * are not affected. Returns how many were revoked.
 */
import "server-only";
import type { Tx } from "@/server/db/prisma";
import type { Role } from "@/server/domain/auth/permissions";

const BELOW: Record<Role, Role[]> = { viewer: [], editor: ["viewer"], admin: ["viewer", "editor"] };

export async function revokeCreatorTokens(tx: Tx, userId: string, keepUpTo: Role | null): Promise<number> {
  const { count } = await tx.apiToken.updateMany({
    where: {
      createdById: userId,
      revokedAt: null,
      ...(keepUpTo === null ? {} : { role: { notIn: [...BELOW[keepUpTo], keepUpTo] } }),
    },
    data: { revokedAt: new Date() },
  });
  return count;
}
