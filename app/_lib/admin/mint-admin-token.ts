/**
 * mintAdminToken: a short-lived (60 s) token that lets the dashboard's server — acting for
 * the current principal — reach a gateway's admin endpoints (`/admin/tester/*` with scope
 * "tester", `/admin/stream` with scope "stream"). Claims: sub = user or API-token id, role,
 * name = what audit rows show ("alice@example.com", "token:ci").
 *
 * The HMAC key is the deployment-wide `admin_token_key` setting (created by whichever
 * process needs it first), read once per process and kept in memory. Server-only.
 */
import pg from "pg";
import { type AdminScope, signAdminToken } from "../../../server/admin/admin-token";
import { getOrCreateSecretSetting, SETTING_ADMIN_TOKEN_KEY } from "../../../server/db/settings";
import { configuredSecretBox } from "../../../server/secrets/secrets-key";
import type { Principal } from "../auth/principal";
import { databaseUrl } from "../db";

const holder = globalThis as typeof globalThis & { __origingateAdminKey?: Promise<string> };

function adminKey(): Promise<string> {
  holder.__origingateAdminKey ??= (async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      return await getOrCreateSecretSetting(client, SETTING_ADMIN_TOKEN_KEY, configuredSecretBox());
    } finally {
      await client.end();
    }
  })().catch((error: unknown) => {
    // Not cached: the next request tries again.
    holder.__origingateAdminKey = undefined;
    throw error;
  });
  return holder.__origingateAdminKey;
}

export async function mintAdminToken(principal: Principal, scope: AdminScope): Promise<string> {
  return signAdminToken({ sub: principal.id, role: principal.role, scope, name: principal.label }, await adminKey());
}
