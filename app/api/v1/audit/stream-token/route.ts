// POST /api/v1/audit/stream-token - a 60 s token and the gateway URL for the live feed (offered as a subprotocol, never in a URL)
import { apiRoute } from "@/app/_lib/api/api-route";
import { mintStreamToken } from "@/app/_lib/audit/mint-stream-token";

export const POST = apiRoute(
  { permission: "audit.read", activity: false, tenantScope: "filtered" },
  async ({ principal }) => {
    return Response.json(await mintStreamToken({ principal }));
  },
);
