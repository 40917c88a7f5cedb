// POST /api/v1/tenants/<slug>/revisions/<version>/rollback - new revision restoring <version> (optional If-Match, { comment? });
// `changed: false` (no revision) when the current policy already equals <version>; approval required -> 202 with the rollout

import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { etag, optionalIfMatch } from "@/app/_lib/api/if-match";
import { rollbackInput, versionParam } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { rollbackPolicy } from "@/app/_lib/policy/rollback-policy";

export const POST = apiRoute<{ slug: string; version: string }>(
  { permission: "policy.write", activity: "policy.rollback" },
  async ({ request, params, actor }) => {
    const { comment } = rollbackInput.parse(await readJson(request));
    const { policy, warnings, changed, pending } = await rollbackPolicy({
      db: getPrisma(),
      slug: params.slug,
      toVersion: versionParam(params.version),
      expectedVersion: optionalIfMatch(request),
      actor,
      comment,
    });
    if (pending)
      return Response.json({ ...pending, warnings }, { status: 202, headers: { ETag: etag(policy.version) } });
    return Response.json({ ...policy, changed, warnings }, { headers: { ETag: etag(policy.version) } });
  },
);
