/**
 * First-run seed: a demo tenant whose policy shows the main kinds of allowlist entries.
 * Runs once per database (remembered in the `setting` table), so deleting the demo tenant
 * is respected on the next start.
 */
import type pg from "pg";
import { newSecret } from "../server/db/settings";

const demoOrigins = (dashboardOrigin: string) => [
  { pattern: dashboardOrigin, note: "the dashboard itself, so a browser tab on it can connect" },
  { pattern: "https://app.example.com", note: "exact origin" },
  { pattern: "https://*.example.com", note: "any subdomain of example.com (not example.com itself)" },
  { pattern: "http://localhost:*", note: "local development on any port" },
];

export async function seedDemo(db: pg.Pool | pg.Client, dashboardOrigin: string): Promise<boolean> {
  const DEMO_ORIGINS = demoOrigins(new URL(dashboardOrigin).origin);
  const claimed = await db.query(
    "insert into setting (key, value) values ('demo_seeded', now()::text) on conflict (key) do nothing",
  );
  if (claimed.rowCount === 0) return false;
  const document = {
    mode: "enforce",
    origins: DEMO_ORIGINS.map((o) => ({ ...o, expiresAt: null })),
    credentials: "forbid",
    token: "off",
    missingOrigin: "reject",
    subprotocols: [],
    limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 10000, handshakesPerMinutePerIp: 600 },
  };
  await db.query("begin");
  try {
    const { rows } = await db.query<{ id: string }>(
      `insert into tenant (id, slug, name, token_secret) values (gen_random_uuid(), 'demo', 'Demo tenant', $1)
       on conflict (slug) do nothing returning id`,
      [newSecret()],
    );
    const tenantId = rows[0]?.id;
    if (tenantId) {
      await db.query(`insert into policy (tenant_id, version, updated_by) values ($1, 1, 'seed')`, [tenantId]);
      for (const o of DEMO_ORIGINS) {
        await db.query(
          `insert into allowed_origin (id, tenant_id, pattern, note, created_by) values (gen_random_uuid(), $1, $2, $3, 'seed')`,
          [tenantId, o.pattern, o.note],
        );
      }
      await db.query(
        `insert into policy_revision (id, tenant_id, version, document, author, comment)
         values (gen_random_uuid(), $1, 1, $2, 'seed', 'Demo tenant created on first start')`,
        [tenantId, JSON.stringify(document)],
      );
    }
    await db.query("commit");
  } catch (error) {
    await db.query("rollback");
    throw error;
  }
  return true;
}
