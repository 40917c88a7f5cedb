/**
 * The dashboard's read access to `audit_event`: a small `pg` pool (one per process, kept on
 * globalThis like the Prisma client) that runs the gateway's own queries from
 * server/db/audit-queries.ts, so history, stats and exports return exactly the rows and
 * types the gateway's live stream sends (timestamptz → Date → ISO string, `id::text`, json →
 * object, text[] → string[]). Prisma stays the way policies are written (savePolicy).
 * Server-only.
 */
import "server-only";
import type pg from "pg";
import { databaseUrl } from "@/app/_lib/db";
import type { Queryable } from "@/server/db/audit-queries";
import { createPool } from "@/server/db/pool";

const holder = globalThis as typeof globalThis & { __origingateAuditPool?: pg.Pool };

export function getAuditDb(): Queryable {
  holder.__origingateAuditPool ??= createPool(databaseUrl(), { max: 4, applicationName: "origingate-dashboard-audit" });
  return holder.__origingateAuditPool;
}
