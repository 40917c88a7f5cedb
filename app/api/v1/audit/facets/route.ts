// GET /api/v1/audit/facets?<history filters> - value counts of each filterable field (its own filter left out)
import { apiRoute, scopedTenant } from "@/app/_lib/api/api-route";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { auditQueryObject } from "@/app/_lib/audit/audit-filter-input";
import { getAuditFacets } from "@/app/_lib/audit/explore-audit-events";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ request, principal }) => {
  const query = auditQueryObject(request);
  const tenant = scopedTenant(principal, query.tenant);
  return Response.json(
    await getAuditFacets({
      db: getAuditDb(),
      query: tenant === undefined ? query : { ...query, tenant },
      scopedTenant: principal.tenant,
    }),
  );
});
