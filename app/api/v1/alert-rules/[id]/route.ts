import { alertRulePatch } from "@/app/_lib/alerts/alert-input";
import { deleteAlertRule, updateAlertRule } from "@/app/_lib/alerts/alert-rules";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";

type Params = { id: string };

// PATCH /api/v1/alert-rules/<id> - { name?, tenant?, params?, webhookIds?, enabled? } (admin)
export const PATCH = apiRoute<Params>(
  { permission: "alerts.manage", activity: "alert_rule.update" },
  async ({ request, params, actor }) => {
    const patch = alertRulePatch.parse(await readJson(request));
    return Response.json(await updateAlertRule({ db: getPrisma(), id: params.id, patch, actor }));
  },
);

// DELETE /api/v1/alert-rules/<id> - remove a rule; its open alerts close (admin)
export const DELETE = apiRoute<Params>(
  { permission: "alerts.manage", activity: "alert_rule.delete" },
  async ({ params, actor }) => {
    await deleteAlertRule({ db: getPrisma(), id: params.id, actor });
    return new Response(null, { status: 204 });
  },
);
