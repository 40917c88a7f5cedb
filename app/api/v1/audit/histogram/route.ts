// GET /api/v1/audit/histogram?<history filters> - events per time bucket over the window, split by reason
import { apiRoute, scopedTenant } from "@/app/_lib/api/api-route";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { auditQueryObject } from "@/app/_lib/audit/audit-filter-input";
import { getAuditHistogram } from "@/app/_lib/audit/explore-audit-events";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ request, principal }) => {
  const query = auditQueryObject(request);
  const tenant = scopedTenant(principal, query.tenant);
  return Response.json(
    await getAuditHistogram({ db: getAuditDb(), query: tenant === undefined ? query : { ...query, tenant } }),
  );
});
