/**
 * SPEC §5.2: at most one rollout per tenant is open (pending approval, shadow or canary);
 * while one is, every other write of the policy answers 409 rollout_in_progress. The
 * partial unique index `policy_rollout_one_open_per_tenant` makes a race lose too.
 */
import "server-only";
import type { Db } from "../../db/prisma";
import { AppError } from "../errors";

export async function assertNoOpenRollout(tx: Db, tenant: { id: string; slug: string }): Promise<void> {
  const open = await tx.policyRollout.findFirst({
    where: { tenantId: tenant.id, state: { in: ["pending_approval", "shadow", "canary"] } },
    select: { id: true, version: true, state: true },
  });
  if (!open) return;
  throw new AppError(
    "rollout_in_progress",
    `Version ${open.version} of "${tenant.slug}" is in rollout (${open.state.replace("_", " ")}): promote, abort${open.state === "pending_approval" ? ", approve or reject" : ""} it first`,
    { details: { rolloutId: open.id, version: open.version, stage: open.state } },
  );
}
