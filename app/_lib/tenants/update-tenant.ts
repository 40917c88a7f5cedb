/**
 * Renames a tenant, sets its upstream URL, and/or marks it as managed by code (or removes
 * the mark; admins only, like every tenant setting). The slug is immutable. Recorded as
 * `tenant.update`.
 */
import "server-only";
import type { z } from "zod";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { updateTenantInput } from "@/server/domain/tenants/tenant-input";

export async function updateTenant(options: {
  db: Db;
  slug: string;
  input: z.input<typeof updateTenantInput>;
  actor?: Actor;
}): Promise<void> {
  const input = updateTenantInput.parse(options.input);
  await inTransaction(options.db, async (tx) => {
    const tenant = await findTenant({ db: tx, slug: options.slug });
    await tx.tenant.update({
      where: { id: tenant.id },
      data: {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.upstreamUrl !== undefined ? { upstreamUrl: input.upstreamUrl } : {}),
        ...(input.managedBy !== undefined ? { managedBy: input.managedBy } : {}),
        ...(input.requireApproval !== undefined ? { requireApproval: input.requireApproval } : {}),
      },
    });
    const changes = [
      input.name !== undefined && input.name !== tenant.name ? `name "${tenant.name}" → "${input.name}"` : null,
      input.upstreamUrl !== undefined && input.upstreamUrl !== tenant.upstreamUrl
        ? `upstream ${tenant.upstreamUrl ?? "none"} → ${input.upstreamUrl ?? "none"}`
        : null,
      input.managedBy !== undefined && input.managedBy !== tenant.managedBy
        ? input.managedBy === null
          ? "no longer managed by code"
          : `managed by code (${input.managedBy})`
        : null,
      input.requireApproval !== undefined && input.requireApproval !== tenant.requireApproval
        ? input.requireApproval
          ? "changes now need a second person's approval"
          : "changes no longer need approval"
        : null,
    ].filter((c): c is string => c !== null);
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "tenant.update",
      target: tenant.slug,
      summary: changes.length > 0 ? `Changed ${changes.join(", ")}` : "Saved the tenant's settings unchanged",
    });
  });
}
