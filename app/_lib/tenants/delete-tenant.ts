/**
 * Deletes a tenant with its policy, allowlist, revisions and tester endpoints (cascade).
 * Gateways hear about it through the policy row's delete trigger and stop serving the slug
 * (404 tenant_unknown). Audit rows keep the slug and survive.
 */
import "server-only";
import type { Db } from "../db";
import { findTenant } from "./find-tenant";

export async function deleteTenant(options: { db: Db; slug: string }): Promise<void> {
  const tenant = await findTenant(options);
  await options.db.tenant.delete({ where: { id: tenant.id } });
}
