// DELETE /api/v1/me/sessions/<id> - end one of the signed-in user's sessions
import { apiRoute } from "@/app/_lib/api/api-route";
import { revokeUserSession } from "@/app/_lib/auth/user-sessions";
import { getPrisma } from "@/app/_lib/db";

export const DELETE = apiRoute<{ id: string }>(
  { permission: "authenticated", activity: "session.revoke", tenantScope: "filtered", beforeSecondFactor: true },
  async ({ params, principal, actor }) => {
    await revokeUserSession({ db: getPrisma(), principal, id: params.id, actor });
    return new Response(null, { status: 204 });
  },
);
