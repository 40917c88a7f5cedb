// POST /api/v1/tenants/<slug>/revisions/<version>/rollback - new revision restoring <version> (optional If-Match, { comment? })

import { z } from "zod";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { etag, optionalIfMatch } from "@/app/_lib/api/if-match";
import { versionParam } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { rollbackPolicy } from "@/app/_lib/policy/rollback-policy";

const body = z.object({ comment: z.string().max(500).nullish() }).strict();

export const POST = apiRoute<{ slug: string; version: string }>(
  { permission: "policy.write", activity: "policy.rollback" },
  async ({ request, params, actor }) => {
    const { comment } = body.parse(await readJson(request));
    const { policy, warnings } = await rollbackPolicy({
      db: getPrisma(),
      slug: params.slug,
      toVersion: versionParam(params.version),
      expectedVersion: optionalIfMatch(request),
      actor,
      comment,
    });
    return Response.json({ ...policy, warnings }, { headers: { ETag: etag(policy.version) } });
  },
);
