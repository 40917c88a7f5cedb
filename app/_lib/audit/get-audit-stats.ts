/**
 * The audit page's overview (`GET /api/v1/audit/stats`): accepted vs rejected handshakes
 * per time bucket over the last hour (1-minute buckets) or day (30-minute buckets), every
 * bucket present (zeros included, so a chart needs no gap logic), and the origins refused
 * most often over the same window. Folded rows count with their exact `count`.
 */
import "server-only";
import { auditTimeline, type Queryable, topRejectedOrigins } from "../../../server/db/audit-queries";
import type { AuditWindow } from "./audit-filter-input";

export const WINDOWS: Record<AuditWindow, { seconds: number; bucketSeconds: number }> = {
  hour: { seconds: 3600, bucketSeconds: 60 },
  day: { seconds: 86_400, bucketSeconds: 1800 },
};

export interface AuditBucket {
  /** Start of the bucket (ISO). */
  bucket: string;
  accepted: number;
  rejected: number;
  reportOnly: number;
}

export interface RejectedOrigin {
  origin: string;
  tenant: string | null;
  count: number;
  lastSeen: string;
  reasons: string[];
}

export interface AuditStats {
  window: AuditWindow;
  bucketSeconds: number;
  since: string;
  until: string;
  timeline: AuditBucket[];
  topRejected: RejectedOrigin[];
}

export async function getAuditStats(options: {
  db: Queryable;
  tenant?: string;
  window: AuditWindow;
  now?: Date;
  topLimit?: number;
}): Promise<AuditStats> {
  const { seconds, bucketSeconds } = WINDOWS[options.window];
  const now = options.now ?? new Date();
  const step = bucketSeconds * 1000;
  // Buckets aligned like the query's (epoch multiples); the last one holds `now`.
  const lastStart = Math.floor(now.getTime() / step) * step;
  const buckets = seconds / bucketSeconds;
  const since = new Date(lastStart - (buckets - 1) * step);
  const until = new Date(lastStart + step);
  const [rows, topRejected] = await Promise.all([
    auditTimeline(options.db, { tenant: options.tenant, since, until, bucketSeconds }),
    topRejectedOrigins(options.db, {
      tenant: options.tenant,
      since: new Date(now.getTime() - seconds * 1000),
      limit: options.topLimit ?? 10,
    }),
  ]);
  const byStart = new Map(rows.map((r) => [Date.parse(r.bucket), r]));
  const timeline: AuditBucket[] = [];
  for (let i = 0; i < buckets; i++) {
    const start = since.getTime() + i * step;
    const row = byStart.get(start);
    timeline.push({
      bucket: new Date(start).toISOString(),
      accepted: row?.accepted ?? 0,
      rejected: row?.rejected ?? 0,
      reportOnly: row?.reportOnly ?? 0,
    });
  }
  return {
    window: options.window,
    bucketSeconds,
    since: since.toISOString(),
    until: until.toISOString(),
    timeline,
    topRejected,
  };
}
