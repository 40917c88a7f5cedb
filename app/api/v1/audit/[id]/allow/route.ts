// POST /api/v1/audit/<id>/allow - add a refused event's exact origin to its tenant's allowlist ({ expectedVersion? } or If-Match)
import { z } from "zod";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { etag, optionalIfMatch } from "@/app/_lib/api/if-match";
import { allowAuditOrigin } from "@/app/_lib/audit/allow-audit-origin";
import { getPrisma } from "@/app/_lib/db";

const body = z.object({ expectedVersion: z.number().int().min(1).max(2_147_483_647).optional() }).strict();

export const POST = apiRoute<{ id: string }>(
  { permission: "policy.write", activity: "policy.allow_origin", tenantScope: "filtered" },
  async ({ request, params, actor, principal }) => {
    const { expectedVersion } = body.parse(await readJson(request));
    const result = await allowAuditOrigin({
      db: getPrisma(),
      eventId: params.id,
      expectedVersion: expectedVersion ?? optionalIfMatch(request),
      actor,
      tenant: principal.tenant,
    });
    return Response.json(result, { headers: { ETag: etag(result.version) } });
  },
);
