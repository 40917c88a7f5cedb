// POST /api/v1/audit/<id>/allow - add a refused event's exact origin to its tenant's allowlist ({ expectedVersion? } or If-Match)
import { actorOf } from "@/app/_lib/api/actor";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { etag, optionalIfMatch } from "@/app/_lib/api/if-match";
import { allowOriginInput } from "@/app/_lib/api/params";
import { allowAuditOrigin } from "@/app/_lib/audit/allow-audit-origin";
import { getPrisma } from "@/app/_lib/db";

export const POST = apiRoute<{ id: string }>({ permission: "policy.write" }, async ({ request, params, principal }) => {
  const { expectedVersion } = allowOriginInput.parse(await readJson(request));
  const result = await allowAuditOrigin({
    db: getPrisma(),
    eventId: params.id,
    expectedVersion: expectedVersion ?? optionalIfMatch(request),
    actor: actorOf(principal),
  });
  return Response.json(result, { headers: { ETag: etag(result.version) } });
});
