// DELETE /api/v1/audit/views/<id> - delete one of the signed-in user's saved audit views
import { apiRoute } from "@/app/_lib/api/api-route";
import { deleteView } from "@/app/_lib/audit/audit-saved-views";
import { getPrisma } from "@/app/_lib/db";

export const DELETE = apiRoute<{ id: string }>(
  { permission: "audit.read", activity: "audit_view.delete", tenantScope: "filtered" },
  async ({ params, principal, actor }) => {
    await deleteView({ db: getPrisma(), principal, actor, id: params.id });
    return new Response(null, { status: 204 });
  },
);
