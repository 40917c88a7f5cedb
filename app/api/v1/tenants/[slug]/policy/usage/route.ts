import { apiRoute } from "@/app/_lib/api/api-route";
import { queryObject } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { getEntryUsage } from "@/app/_lib/policy/get-entry-usage";
import { usageQuery } from "@/app/_lib/policy/impact-input";

type Params = { slug: string };

// GET /api/v1/tenants/<slug>/policy/usage?days=30 - each allowlist entry's matches in the window and last match;
// entries with none in the window (and older than it) flagged unused
export const GET = apiRoute<Params>({ permission: "policy.read" }, async ({ request, params }) => {
  const { days } = usageQuery.parse(queryObject(request));
  return Response.json(await getEntryUsage({ db: getPrisma(), slug: params.slug, days }));
});
