import { alertListQuery } from "@/app/_lib/alerts/alert-input";
import { listAlertDeliveries } from "@/app/_lib/alerts/alert-log";
import { apiRoute } from "@/app/_lib/api/api-route";
import { queryObject } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";

// GET /api/v1/alert-deliveries?webhook=&cursor=&limit= - the delivery log with every attempt, newest first (admin)
export const GET = apiRoute({ permission: "alerts.manage" }, async ({ request }) => {
  const query = alertListQuery.parse(queryObject(request));
  return Response.json(await listAlertDeliveries({ db: getPrisma(), query }));
});
