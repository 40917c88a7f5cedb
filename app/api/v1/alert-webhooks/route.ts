import { alertWebhookInput } from "@/app/_lib/alerts/alert-input";
import { createAlertWebhook, listAlertWebhooks } from "@/app/_lib/alerts/alert-webhooks";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";

// GET /api/v1/alert-webhooks - where alerts are delivered, never a secret (admin)
export const GET = apiRoute({ permission: "alerts.manage" }, async () =>
  Response.json(await listAlertWebhooks({ db: getPrisma() })),
);

// POST /api/v1/alert-webhooks - register { name, url, enabled? }; the signing secret is returned once (admin)
export const POST = apiRoute(
  { permission: "alerts.manage", activity: "alert_webhook.create" },
  async ({ request, actor }) => {
    const input = alertWebhookInput.parse(await readJson(request));
    return Response.json(await createAlertWebhook({ db: getPrisma(), input, actor }), { status: 201 });
  },
);
