// GET /api/v1/tenants/<slug>/revisions/<version>?against=<v> - one revision with its diff (default: against the previous)
import { apiRoute } from "@/app/_lib/api/api-route";
import { queryObject, revisionQuery, versionParam } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { getRevision } from "@/app/_lib/policy/get-revision";

export const GET = apiRoute<{ slug: string; version: string }>(
  { permission: "policy.read" },
  async ({ request, params }) => {
    const { against } = revisionQuery.parse(queryObject(request));
    return Response.json(
      await getRevision({ db: getPrisma(), slug: params.slug, version: versionParam(params.version), against }),
    );
  },
);
