// GET /api/v1/audit/export?format=csv|ndjson&<history filters> - the filtered result as a streamed download, newest first
import { apiRoute, scopedTenant } from "@/app/_lib/api/api-route";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { auditExportQuery, auditQueryObject } from "@/app/_lib/audit/audit-filter-input";
import {
  EXPORT_CONTENT_TYPES,
  exportAuditEvents,
  exportFilename,
  MAX_EXPORT_ROWS,
} from "@/app/_lib/audit/export-audit-events";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ request, principal }) => {
  // Validated before the first byte, so a bad filter is still a 422 and not a broken file.
  const { format, ...query } = auditExportQuery.parse(auditQueryObject(request));
  const filter = { ...query, tenant: scopedTenant(principal, query.tenant) };
  return new Response(exportAuditEvents({ db: getAuditDb(), filter, format }), {
    headers: {
      "Content-Type": EXPORT_CONTENT_TYPES[format],
      "Content-Disposition": `attachment; filename="${exportFilename(format)}"`,
      "X-OriginGate-Export-Limit": String(MAX_EXPORT_ROWS),
      "X-Content-Type-Options": "nosniff",
    },
  });
});
