import { alertRuleInput } from "@/app/_lib/alerts/alert-input";
import { createAlertRule, listAlertRules } from "@/app/_lib/alerts/alert-rules";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";

// GET /api/v1/alert-rules - the alert rules (admin)
export const GET = apiRoute({ permission: "alerts.manage" }, async () =>
  Response.json(await listAlertRules({ db: getPrisma() })),
);

// POST /api/v1/alert-rules - add { name, kind, tenant?, params?, webhookIds?, enabled? } (admin)
export const POST = apiRoute(
  { permission: "alerts.manage", activity: "alert_rule.create" },
  async ({ request, actor }) => {
    const input = alertRuleInput.parse(await readJson(request));
    return Response.json(await createAlertRule({ db: getPrisma(), input, actor }), { status: 201 });
  },
);
