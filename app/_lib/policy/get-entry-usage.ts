/**
 * getEntryUsage: least privilege over time (issue "safe change" item 3). For each allowlist
 * entry of a tenant: its matches in the last `days` days and its last match in the kept audit
 * history, read from the audit rollup (audit_pattern_hit, server/db/impact-queries.ts: no
 * write per handshake). An entry is flagged `unused` when it matched nothing in the window
 * and is older than the window (an entry added yesterday is not stale yet). Removing or
 * expiring one goes through the editor's normal save path (a revision, an impact preview).
 */
import "server-only";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import type { Queryable } from "@/server/db/audit-queries";
import { readPatternUsage } from "@/server/db/impact-queries";
import type { Db } from "@/server/db/prisma";
import { ORIGIN_ORDER } from "@/server/domain/policy/document";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { DEFAULT_UNUSED_DAYS } from "./impact-input";

const DAY_MS = 86_400_000;

export interface EntryUsage {
  pattern: string;
  /** Matches since `since`. */
  hits: number;
  lastMatch: string | null;
  createdAt: string;
  /** No match since `since`, and the entry is older than that. */
  unused: boolean;
}

export interface EntryUsageReport {
  days: number;
  /** Start of the window (aligned down to the UTC day). */
  since: string;
  entries: EntryUsage[];
}

export async function getEntryUsage(options: {
  db: Db;
  slug: string;
  days?: number;
  now?: Date;
  auditDb?: Queryable;
}): Promise<EntryUsageReport> {
  const now = options.now ?? new Date();
  const days = options.days ?? DEFAULT_UNUSED_DAYS;
  const tenant = await findTenant({ db: options.db, slug: options.slug });
  const entries = await options.db.allowedOrigin.findMany({
    where: { tenantId: tenant.id },
    orderBy: ORIGIN_ORDER,
    select: { pattern: true, createdAt: true },
  });
  const { since, usage } = await readPatternUsage(options.auditDb ?? getAuditDb(), {
    tenant: tenant.slug,
    since: new Date(now.getTime() - days * DAY_MS),
  });
  const byPattern = new Map(usage.map((u) => [u.pattern, u]));
  return {
    days,
    since: since.toISOString(),
    entries: entries.map((entry) => {
      const used = byPattern.get(entry.pattern);
      const hits = used?.hits ?? 0;
      return {
        pattern: entry.pattern,
        hits,
        lastMatch: used?.lastMatch ? used.lastMatch.toISOString() : null,
        createdAt: entry.createdAt.toISOString(),
        unused: hits === 0 && entry.createdAt.getTime() < since.getTime(),
      };
    }),
  };
}
