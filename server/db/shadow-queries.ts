/**
 * Shadow versus active, per origin (SPEC §5.2): from the audit rows that carry a shadow
 * decision (only where the staged version decided differently), grouped by origin and the
 * two outcomes, with counts. Reads the partial index audit_event_shadow_ts_id_idx, which
 * holds those rows only.
 */
import type { AuditDecision } from "../audit/types";
import { ORIGIN_EXPRESSION, type Queryable } from "./audit-queries";

export interface ShadowSummaryRow {
  origin: string;
  /** What the enforced (active) version decided, and why. */
  decision: AuditDecision;
  reason: string | null;
  /** What the shadow version would have decided, and why. */
  shadowDecision: AuditDecision;
  shadowReason: string | null;
  shadowVersion: number;
  count: number;
  lastSeen: string;
}

export interface ShadowSummaryFilter {
  tenant: string;
  version?: number;
  since: Date;
  limit: number;
}

export async function shadowSummary(db: Queryable, f: ShadowSummaryFilter): Promise<ShadowSummaryRow[]> {
  const values: unknown[] = [f.tenant, f.since];
  let versionFilter = "";
  if (f.version !== undefined) {
    values.push(f.version);
    versionFilter = `and shadow_version = $${values.length}`;
  }
  values.push(f.limit);
  const { rows } = await db.query<{
    origin: string;
    decision: AuditDecision;
    reason: string | null;
    shadow_decision: AuditDecision;
    shadow_reason: string | null;
    shadow_version: number;
    count: string;
    last_seen: Date;
  }>(
    `select coalesce(${ORIGIN_EXPRESSION}, '(none)') as origin, decision, reason, shadow_decision, shadow_reason,
            shadow_version, sum(count)::text as count, max(coalesce(last_ts, ts)) as last_seen
       from audit_event
      where shadow_decision is not null and kind = 'handshake' and tenant = $1 and ts >= $2 and decision is not null ${versionFilter}
      group by 1, decision, reason, shadow_decision, shadow_reason, shadow_version
      order by sum(count) desc, 1
      limit $${values.length}`,
    values,
  );
  return rows.map(
    (r): ShadowSummaryRow => ({
      origin: r.origin,
      decision: r.decision,
      reason: r.reason,
      shadowDecision: r.shadow_decision,
      shadowReason: r.shadow_reason,
      shadowVersion: r.shadow_version,
      count: Number(r.count),
      lastSeen: r.last_seen.toISOString(),
    }),
  );
}
