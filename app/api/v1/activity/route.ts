// GET /api/v1/activity?actor=&action=&target=&cursor=&limit= - the admin activity log, newest first, keyset pages
import { listActivity } from "@/app/_lib/activity/list-activity";
import { apiRoute } from "@/app/_lib/api/api-route";
import { queryObject } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";

export const GET = apiRoute({ permission: "activity.read" }, async ({ request }) => {
  const query = Object.fromEntries(Object.entries(queryObject(request)).filter(([, v]) => v.trim() !== ""));
  return Response.json(await listActivity({ db: getPrisma(), query }));
});
