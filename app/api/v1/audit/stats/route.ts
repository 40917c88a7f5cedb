// GET /api/v1/audit/stats?tenant=&window=hour|day&tester=exclude|include - accepted vs rejected per bucket, top rejected origins (marked when allowed since)
import { apiRoute, scopedTenant } from "@/app/_lib/api/api-route";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { auditQueryObject, auditStatsQuery } from "@/app/_lib/audit/audit-filter-input";
import { getAuditStats } from "@/app/_lib/audit/get-audit-stats";
import { markAllowedOrigins } from "@/app/_lib/audit/mark-allowed-origins";
import { getPrisma } from "@/app/_lib/db";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ request, principal }) => {
  const { tenant, window, tester } = auditStatsQuery.parse(auditQueryObject(request));
  const stats = await getAuditStats({
    db: getAuditDb(),
    tenant: scopedTenant(principal, tenant),
    window,
    includeTester: tester === "include",
  });
  return Response.json(await markAllowedOrigins(getPrisma(), stats));
});
