import { alertsQuery } from "@/app/_lib/alerts/alert-input";
import { listAlerts } from "@/app/_lib/alerts/alert-log";
import { apiRoute } from "@/app/_lib/api/api-route";
import { queryObject } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";

// GET /api/v1/alerts?cursor=&limit= - raised alerts (open and resolved), newest first (admin)
export const GET = apiRoute({ permission: "alerts.manage" }, async ({ request }) => {
  const query = alertsQuery.parse(queryObject(request));
  return Response.json(await listAlerts({ db: getPrisma(), query }));
});
