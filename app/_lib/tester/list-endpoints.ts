/** The tester endpoints an admin registered for a tenant (oldest first). */
import "server-only";
import type { Db } from "@/server/db/prisma";
import { findTenant } from "@/server/domain/tenants/find-tenant";

export interface TesterEndpointView {
  id: string;
  url: string;
  label: string | null;
  createdAt: string;
  createdBy: string | null;
}

export function toEndpointView(row: {
  id: string;
  url: string;
  label: string | null;
  createdAt: Date;
  createdBy: string | null;
}): TesterEndpointView {
  return {
    id: row.id,
    url: row.url,
    label: row.label,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

export async function listEndpoints(options: { db: Db; slug: string }): Promise<TesterEndpointView[]> {
  const tenant = await findTenant(options);
  const rows = await options.db.testerEndpoint.findMany({
    where: { tenantId: tenant.id },
    orderBy: [{ createdAt: "asc" }, { url: "asc" }],
  });
  return rows.map(toEndpointView);
}
