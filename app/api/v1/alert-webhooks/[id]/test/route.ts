import { sendTestAlert } from "@/app/_lib/alerts/alert-webhooks";
import { apiRoute } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";

type Params = { id: string };

// POST /api/v1/alert-webhooks/<id>/test - send a signed test message now; the delivery with its first attempt (admin)
export const POST = apiRoute<Params>(
  { permission: "alerts.manage", activity: "alert_webhook.test" },
  async ({ params, actor }) => Response.json(await sendTestAlert({ db: getPrisma(), id: params.id, actor })),
);
