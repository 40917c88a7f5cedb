/** Removes a tester endpoint of a tenant; 404 when the tenant has no such endpoint. */
import "server-only";
import type { Db } from "../db";
import { notFound } from "../errors";
import { findTenant } from "../tenants/find-tenant";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function removeEndpoint(options: { db: Db; slug: string; id: string }): Promise<void> {
  const tenant = await findTenant(options);
  if (!UUID.test(options.id)) throw notFound("Tester endpoint");
  const { count } = await options.db.testerEndpoint.deleteMany({ where: { id: options.id, tenantId: tenant.id } });
  if (count === 0) throw notFound("Tester endpoint");
}
