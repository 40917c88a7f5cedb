/**
 * One lock for every change of who holds which role (a role change, a removal, an SSO
 * user's role following the provider's claims): taken first in the change's transaction,
 * it serialises them, so the "last admin" rule cannot be beaten by two admins demoting or
 * removing each other at once. Released at commit or rollback.
 */
import "server-only";
import type { Tx } from "../../db/prisma";

export async function lockUserRoles(tx: Tx): Promise<void> {
  await tx.$executeRaw`select pg_advisory_xact_lock(hashtext('origingate:user-roles'))`;
}
