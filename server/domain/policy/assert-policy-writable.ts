/**
 * The one guard for tenants managed by code (SPEC §7 "Policy as code"): their policy is
 * changed only by `ctl policy:apply` — the policy PUT (`apply: true`, passed by that route
 * alone) made with a token scoped for it (`policyAsCode`). savePolicy calls it inside its
 * transaction, and the rollout stage changes call it too, so every other write path — the
 * editor's PUT, rollback, "allow this origin", publishing, promoting or approving a
 * rollout, anything added later — answers 409 `managed_by_code`, whoever asks (a
 * policy-as-code token included), without a list of routes to keep up to date.
 *
 * One exception keeps the two-person rule usable on such a tenant: an apply on a tenant
 * that requires approval waits as a pending rollout, and a person (never a token, never
 * its author: changeRollout checks that) may approve it (`approval: true`). Approving
 * writes no document of its own; it lets the applied one go live. Rejecting and aborting
 * change nothing that is enforced and are never guarded.
 *
 * The tenant row is read FOR SHARE: an admin setting or clearing the mark concurrently
 * (PATCH /api/v1/tenants/<slug>, which updates that row) waits for this save to commit,
 * or this save sees the new mark.
 */
import "server-only";
import type { Db } from "../../db/prisma";
import type { Actor } from "../activity/record-activity";
import { AppError } from "../errors";

export async function assertPolicyWritable(
  tx: Db,
  tenant: { id: string; slug: string },
  actor: Actor,
  options: { apply?: boolean; approval?: boolean } = {},
): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ managed_by: string | null }>>`
    select managed_by from tenant where id = ${tenant.id}::uuid for share`;
  const managedBy = rows[0]?.managed_by ?? null;
  if (managedBy === null || (options.apply === true && actor.policyAsCode === true)) return;
  if (options.approval === true && actor.policyAsCode !== true) return;
  throw new AppError(
    "managed_by_code",
    `The policy of "${tenant.slug}" is managed by code (${managedBy}): change it there and apply it with ctl policy:apply and a policy-as-code token. An admin can remove the mark in the tenant's settings.`,
    { details: { managedBy } },
  );
}
