/**
 * Deletes a tenant with its policy, allowlist, revisions and tester endpoints (cascade).
 * Gateways hear about it through the policy row's delete trigger and stop serving the slug
 * (404 tenant_unknown). Audit rows and activity entries keep the slug and survive. API tokens
 * scoped to the tenant are revoked in the same transaction (their scope never widens).
 */
import "server-only";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { findTenant } from "@/server/domain/tenants/find-tenant";

export async function deleteTenant(options: { db: Db; slug: string; actor?: Actor }): Promise<void> {
  await inTransaction(options.db, async (tx) => {
    const tenant = await findTenant({ db: tx, slug: options.slug });
    const revoked = await tx.apiToken.updateMany({
      where: { scopeTenantId: tenant.id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    await tx.tenant.delete({ where: { id: tenant.id } });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "tenant.delete",
      target: tenant.slug,
      summary: `Deleted tenant ${tenant.slug} ("${tenant.name}") with its policy and history${revoked.count > 0 ? `; ${revoked.count} API token(s) scoped to it revoked` : ""}`,
    });
  });
}
