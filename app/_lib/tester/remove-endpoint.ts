/** Removes a tester endpoint of a tenant (`tester_endpoint.remove`); 404 when the tenant has no such endpoint. */
import "server-only";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { notFound } from "@/server/domain/errors";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { redactUrlQuery } from "@/server/tester/endpoint-url";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function removeEndpoint(options: { db: Db; slug: string; id: string; actor?: Actor }): Promise<void> {
  await inTransaction(options.db, async (tx) => {
    const tenant = await findTenant({ db: tx, slug: options.slug });
    if (!UUID.test(options.id)) throw notFound("Tester endpoint");
    const endpoint = await tx.testerEndpoint.findFirst({ where: { id: options.id, tenantId: tenant.id } });
    if (!endpoint) throw notFound("Tester endpoint");
    const { count } = await tx.testerEndpoint.deleteMany({ where: { id: endpoint.id } });
    if (count === 0) throw notFound("Tester endpoint");
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "tester_endpoint.remove",
      target: tenant.slug,
      summary: `Removed tester endpoint ${redactUrlQuery(endpoint.url)}${endpoint.label ? ` ("${endpoint.label}")` : ""}`,
      details: { endpointId: endpoint.id },
    });
  });
}
