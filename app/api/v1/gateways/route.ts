// GET /api/v1/gateways?all=1 - live gateway instances and the policy version each enforces per tenant
// (all=1 also lists stopped and silent ones, with live: false). Each entry has the SPEC §10 fields
// { id, host, startedAt, lastHeartbeatAt, enforcedVersions } plus pid, status, live, stoppedAt.
import { apiRoute } from "@/app/_lib/api/api-route";
import { gatewaysQuery, queryObject } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { listGateways } from "@/app/_lib/gateways/list-gateways";

export const GET = apiRoute(
  { permission: "gateways.read", tenantScope: "filtered" },
  async ({ request, principal }) => {
    const all = ["1", "true"].includes(gatewaysQuery.parse(queryObject(request)).all ?? "");
    const { gateways } = await listGateways({ db: getPrisma(), includeStale: all, tenant: principal.tenant });
    return Response.json(gateways);
  },
);
