import { alertWebhookPatch } from "@/app/_lib/alerts/alert-input";
import { deleteAlertWebhook, updateAlertWebhook } from "@/app/_lib/alerts/alert-webhooks";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";

type Params = { id: string };

// PATCH /api/v1/alert-webhooks/<id> - { name?, url?, enabled?, rotateSecret? }; a rotated secret is returned once (admin)
export const PATCH = apiRoute<Params>(
  { permission: "alerts.manage", activity: "alert_webhook.update" },
  async ({ request, params, actor }) => {
    const patch = alertWebhookPatch.parse(await readJson(request));
    return Response.json(await updateAlertWebhook({ db: getPrisma(), id: params.id, patch, actor }));
  },
);

// DELETE /api/v1/alert-webhooks/<id> - remove a webhook and its delivery log (admin)
export const DELETE = apiRoute<Params>(
  { permission: "alerts.manage", activity: "alert_webhook.delete" },
  async ({ params, actor }) => {
    await deleteAlertWebhook({ db: getPrisma(), id: params.id, actor });
    return new Response(null, { status: 204 });
  },
);
