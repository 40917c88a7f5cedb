// GET /api/v1/audit/views - the signed-in user's saved audit views
// POST /api/v1/audit/views - save the current /audit query under a name (replaces a view of that name)
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { listSavedViews, saveView } from "@/app/_lib/audit/audit-saved-views";
import { getPrisma } from "@/app/_lib/db";

export const GET = apiRoute({ permission: "audit.read", tenantScope: "filtered" }, async ({ principal }) =>
  Response.json(await listSavedViews({ db: getPrisma(), principal })),
);

export const POST = apiRoute(
  { permission: "audit.read", activity: "audit_view.save", tenantScope: "filtered" },
  async ({ request, principal, actor }) => {
    const { view, created } = await saveView({ db: getPrisma(), principal, actor, input: await readJson(request) });
    return Response.json(view, { status: created ? 201 : 200 });
  },
);
