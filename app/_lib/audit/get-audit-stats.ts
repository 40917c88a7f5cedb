/**
 * The audit page's overview (`GET /api/v1/audit/stats`): accepted vs rejected handshakes
 * per time bucket over the last hour (1-minute buckets) or day (30-minute buckets), every
 * bucket present (zeros included, so a chart needs no gap logic), and the origins refused
 * most often over the same window. Folded rows count with their exact `count`. The tester's
 * own handshakes count only with `includeTester` (server/gateway/tester-mark.ts).
 */
import "server-only";
import {
  auditTimeline,
  OVERVIEW_WINDOWS,
  overviewWindow,
  type Queryable,
  topRejectedOrigins,
} from "@/server/db/audit-queries";
import type { AuditWindow } from "./audit-filter-input";

export const WINDOWS: Record<AuditWindow, { seconds: number; bucketSeconds: number }> = OVERVIEW_WINDOWS;

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
  includeTester?: boolean;
}): Promise<AuditStats> {
  const { bucketSeconds, buckets, since, until, topSince } = overviewWindow(options.window, options.now ?? new Date());
  const step = bucketSeconds * 1000;
  const [rows, topRejected] = await Promise.all([
    auditTimeline(options.db, {
      tenant: options.tenant,
      since,
      until,
      bucketSeconds,
      includeTester: options.includeTester,
    }),
    topRejectedOrigins(options.db, {
      tenant: options.tenant,
      since: topSince,
      limit: options.topLimit ?? 10,
      includeTester: options.includeTester,
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
