/**
 * The live feed's credentials (`POST /api/v1/audit/stream-token`): a 60-second admin token
 * (scope "stream") for the signed-in principal and the gateway URL the browser opens.
 *
 * The browser offers the token as a `bearer.<token>` subprotocol entry next to
 * `og-admin.v1` (server/admin/stream.ts) — never in the URL, so it stays out of access
 * logs and history. The gateway accepts it once (single use across the fleet), and keeps
 * checking the session or API token behind it while the stream is open; the page asks for
 * a fresh one before every (re)connect. The token is in the response body only; nothing
 * here logs it. Server-only.
 */
import "server-only";
import { mintAdminToken } from "@/app/_lib/admin/mint-admin-token";
import type { Principal } from "@/app/_lib/auth/principal";
import { ADMIN_TOKEN_TTL_SECONDS } from "@/server/admin/admin-token";
import { config } from "@/server/config";

/**
 * server/admin/stream.ts STREAM_PROTOCOL, repeated rather than imported: that module pulls
 * the gateway's upgrade handling into the dashboard's bundle. A test keeps them equal.
 */
export const STREAM_SUBPROTOCOL = "og-admin.v1";

export interface StreamToken {
  token: string;
  /** `<GATEWAY_PUBLIC_URL>/admin/stream`; the client adds tenant, decision and after. */
  url: string;
  protocol: string;
  expiresInSeconds: number;
}

export async function mintStreamToken(options: { principal: Principal }): Promise<StreamToken> {
  const token = await mintAdminToken(options.principal, "stream");
  return {
    token,
    url: `${config().gatewayPublicUrl}/admin/stream`,
    protocol: STREAM_SUBPROTOCOL,
    expiresInSeconds: ADMIN_TOKEN_TTL_SECONDS,
  };
}
