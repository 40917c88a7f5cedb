import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { createSiemDestination } from "@/app/_lib/siem/create-siem-destination";
import { listSiemDestinations } from "@/app/_lib/siem/list-siem-destinations";
import { siemDestinationInput } from "@/app/_lib/siem/siem-destination-input";

// GET /api/v1/siem-destinations - the SIEM destinations every gateway streams audit events to (admin)
export const GET = apiRoute({ permission: "siem.manage" }, async () =>
  Response.json(await listSiemDestinations({ db: getPrisma() })),
);

// POST /api/v1/siem-destinations - register { name, kind: syslog|webhook, url, enabled? }; a webhook's secret is returned once (admin)
export const POST = apiRoute({ permission: "siem.manage", activity: "siem.create" }, async ({ request, actor }) => {
  const input = siemDestinationInput.parse(await readJson(request));
  const created = await createSiemDestination({ db: getPrisma(), input, actor });
  return Response.json(created, { status: 201 });
});
