// GET /api/v1/me/sessions - the signed-in user's sessions (when, from where, which is this one; never a token)
import { apiRoute } from "@/app/_lib/api/api-route";
import { listUserSessions } from "@/app/_lib/auth/user-sessions";
import { getPrisma } from "@/app/_lib/db";

export const GET = apiRoute(
  { permission: "authenticated", tenantScope: "filtered", beforeSecondFactor: true },
  async ({ principal }) => Response.json({ sessions: await listUserSessions({ db: getPrisma(), principal }) }),
);
