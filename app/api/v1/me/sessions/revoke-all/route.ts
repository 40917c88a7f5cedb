// POST /api/v1/me/sessions/revoke-all - sign out everywhere { keepCurrent? } (default: this session too)
import { z } from "zod";
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { revokeAllUserSessions } from "@/app/_lib/auth/user-sessions";
import { getPrisma } from "@/app/_lib/db";

const body = z.object({ keepCurrent: z.boolean().default(false) }).strict();

export const POST = apiRoute(
  { permission: "authenticated", activity: "session.revoke_all", tenantScope: "filtered", beforeSecondFactor: true },
  async ({ request, principal, actor }) => {
    const { keepCurrent } = body.parse(await readJson(request));
    const revoked = await revokeAllUserSessions({ db: getPrisma(), principal, keepCurrent, actor });
    return Response.json({ revoked });
  },
);
