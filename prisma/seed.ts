/**
 * First-run seed: a demo tenant whose policy shows the main kinds of allowlist entries.
 * Runs once per database (remembered in the `setting` table), so deleting the demo tenant
 * is respected on the next start. Goes through the dashboard's own createTenant, so the
 * demo is created exactly like any tenant (policy v1 + revision 1, validated).
 */

import type { PrismaClient } from "../server/db/prisma";
import { AppError } from "../server/domain/errors";
import { createTenant } from "../server/domain/tenants/create-tenant";
import { defaultPolicyDocument } from "../server/policy/document";

const SEEDED = "demo_seeded";

const demoOrigins = (dashboardOrigin: string) => [
  { pattern: dashboardOrigin, note: "the dashboard itself, so a browser tab on it can connect", expiresAt: null },
  { pattern: "https://app.example.net", note: "exact origin", expiresAt: null },
  { pattern: "https://*.example.com", note: "any subdomain of example.com (not example.com itself)", expiresAt: null },
  { pattern: "http://localhost:*", note: "local development on any port", expiresAt: null },
];

/** Seeds the demo tenant on the first start of a database; true when it did. */
export async function seedDemo(db: PrismaClient, dashboardUrl: string): Promise<boolean> {
  if (await db.setting.findUnique({ where: { key: SEEDED } })) return false;
  const dashboard = new URL(dashboardUrl);
  // http://localhost:<port> is already covered by the http://localhost:* entry.
  const covered = dashboard.protocol === "http:" && dashboard.hostname === "localhost";
  const origins = demoOrigins(dashboard.origin).filter((_, i) => !(covered && i === 0));
  try {
    await createTenant({
      db,
      input: { slug: "demo", name: "Demo tenant" },
      actor: { id: null, label: "seed" },
      document: { ...defaultPolicyDocument(), origins },
      comment: "Demo tenant created on first start",
    });
  } catch (error) {
    // Someone created a "demo" tenant already: leave it alone.
    if (!(error instanceof AppError && error.code === "conflict")) throw error;
  }
  await db.setting.upsert({
    where: { key: SEEDED },
    create: { key: SEEDED, value: new Date().toISOString() },
    update: {},
  });
  return true;
}
