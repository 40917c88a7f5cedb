// GET /api/v1/tenants/<slug>/revisions?before=&limit= - revisions, newest first (author, time, comment)
import { apiRoute } from "@/app/_lib/api/api-route";
import { queryObject, revisionListQuery } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { listRevisions } from "@/app/_lib/policy/list-revisions";

export const GET = apiRoute<{ slug: string }>({ permission: "policy.read" }, async ({ request, params }) => {
  const query = revisionListQuery.parse(queryObject(request));
  return Response.json(await listRevisions({ db: getPrisma(), slug: params.slug, ...query }));
});
