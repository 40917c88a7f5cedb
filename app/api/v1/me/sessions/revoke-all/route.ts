// POST /api/v1/me/sessions/revoke-all - sign out everywhere { keepCurrent? } (default: this session too)
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { revokeSessionsInput } from "@/app/_lib/api/params";
import { revokeAllUserSessions } from "@/app/_lib/auth/user-sessions";
import { getPrisma } from "@/app/_lib/db";

export const POST = apiRoute(
  { permission: "authenticated", activity: "session.revoke_all", tenantScope: "filtered", beforeSecondFactor: true },
  async ({ request, principal, actor }) => {
    const { keepCurrent } = revokeSessionsInput.parse(await readJson(request));
    const revoked = await revokeAllUserSessions({ db: getPrisma(), principal, keepCurrent, actor });
    return Response.json({ revoked });
  },
);
