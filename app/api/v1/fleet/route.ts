// GET /api/v1/fleet - the Gateways page's view: every recent instance, each tenant's latest version,
// and per instance x tenant whether it enforces that version (and since when it has not)
import { apiRoute } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { getFleet } from "@/app/_lib/gateways/get-fleet";

export const GET = apiRoute({ permission: "gateways.read", tenantScope: "filtered" }, async ({ principal }) =>
  Response.json(await getFleet({ db: getPrisma(), tenant: principal.tenant })),
);
