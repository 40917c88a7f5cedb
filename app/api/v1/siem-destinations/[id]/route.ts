import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { deleteSiemDestination } from "@/app/_lib/siem/delete-siem-destination";
import { siemDestinationPatch } from "@/app/_lib/siem/siem-destination-input";
import { updateSiemDestination } from "@/app/_lib/siem/update-siem-destination";

type Params = { id: string };

// PATCH /api/v1/siem-destinations/<id> - { name?, url?, enabled?, rotateSecret? }; a rotated secret is returned once (admin)
export const PATCH = apiRoute<Params>(
  { permission: "siem.manage", activity: "siem.update" },
  async ({ request, params, actor }) => {
    const patch = siemDestinationPatch.parse(await readJson(request));
    return Response.json(await updateSiemDestination({ db: getPrisma(), id: params.id, patch, actor }));
  },
);

// DELETE /api/v1/siem-destinations/<id> - stop exporting there (admin)
export const DELETE = apiRoute<Params>(
  { permission: "siem.manage", activity: "siem.delete" },
  async ({ params, actor }) => {
    await deleteSiemDestination({ db: getPrisma(), id: params.id, actor });
    return new Response(null, { status: 204 });
  },
);
