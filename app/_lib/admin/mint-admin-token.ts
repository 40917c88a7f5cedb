/**
 * mintAdminToken: a short-lived (60 s) token that lets the dashboard's server — acting for
 * the current principal — reach a gateway's admin endpoints (`/admin/tester/*` with scope
 * "tester", `/admin/stream` with scope "stream"). Claims: sub = user or API-token id, kind,
 * sid = the user's session, role, name = what audit rows show ("alice@example.com",
 * "token:ci"), tenant = the one tenant a scoped API token may reach, and a unique jti (server/admin/admin-token.ts). A stream token opens one
 * stream once, and the gateway keeps checking that session or API token while it is open.
 *
 * The HMAC key is the deployment-wide `admin_token_key` setting (created by whichever
 * process needs it first), read once per process and kept in memory. Server-only.
 */
import "server-only";
import type { Principal } from "@/app/_lib/auth/principal";
import { deploymentSetting } from "@/app/_lib/settings";
import { type AdminScope, signAdminToken } from "@/server/admin/admin-token";
import { SETTING_ADMIN_TOKEN_KEY } from "@/server/db/settings";

export async function mintAdminToken(principal: Principal, scope: AdminScope): Promise<string> {
  return signAdminToken(
    {
      sub: principal.id,
      kind: principal.kind,
      ...(principal.kind === "user" ? { sid: principal.sessionId } : {}),
      role: principal.role,
      scope,
      name: principal.label,
      ...(principal.tenant === null ? {} : { tenant: principal.tenant }),
    },
    await deploymentSetting(SETTING_ADMIN_TOKEN_KEY),
  );
}
