// GET /api/v1/audit?tenant=&decision=&reason=&kind=&origin=&since=&until=&cursor=&limit= - history, newest first, keyset pages
import { apiRoute, scopedTenant } from "@/app/_lib/api/api-route";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { auditQueryObject } from "@/app/_lib/audit/audit-filter-input";
import { searchAuditEvents } from "@/app/_lib/audit/search-audit-events";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ request, principal }) => {
  const query = auditQueryObject(request);
  const tenant = scopedTenant(principal, query.tenant);
  return Response.json(
    await searchAuditEvents({ db: getAuditDb(), query: tenant === undefined ? query : { ...query, tenant } }),
  );
});
