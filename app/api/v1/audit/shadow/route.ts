// GET /api/v1/audit/shadow?tenant=&version=&since=&limit= - shadow versus active per origin: where a staged version decided
// differently, by origin and outcome, with counts (SPEC §5.2)
import { apiRoute, scopedTenant } from "@/app/_lib/api/api-route";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { auditQueryObject, shadowSummaryQuery } from "@/app/_lib/audit/audit-filter-input";
import { getShadowSummary } from "@/app/_lib/audit/get-shadow-summary";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ request, principal }) => {
  const query = shadowSummaryQuery.parse(auditQueryObject(request));
  scopedTenant(principal, query.tenant); // a token limited to another tenant: 403 out_of_scope
  return Response.json(await getShadowSummary({ db: getAuditDb(), query }));
});
