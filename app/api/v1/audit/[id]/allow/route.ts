// POST /api/v1/audit/<id>/allow - add a refused event's exact origin to its tenant's allowlist ({ expectedVersion? } or If-Match)
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { etag, optionalIfMatch } from "@/app/_lib/api/if-match";
import { allowOriginInput } from "@/app/_lib/api/params";
import { allowAuditOrigin } from "@/app/_lib/audit/allow-audit-origin";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { getPrisma } from "@/app/_lib/db";

export const POST = apiRoute<{ id: string }>(
  { permission: "policy.write", activity: "policy.allow_origin", tenantScope: "filtered" },
  async ({ request, params, actor, principal }) => {
    const { expectedVersion } = allowOriginInput.parse(await readJson(request));
    const result = await allowAuditOrigin({
      db: getPrisma(),
      auditDb: getAuditDb(),
      eventId: params.id,
      expectedVersion: expectedVersion ?? optionalIfMatch(request),
      actor,
      tenant: principal.tenant,
    });
    return Response.json(result, { status: result.pending ? 202 : 200, headers: { ETag: etag(result.version) } });
  },
);
