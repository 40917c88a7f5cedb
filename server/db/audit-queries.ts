/**
 * Reading audit events: the history search (`GET /api/v1/audit`, newest first, keyset
 * pagination on id) and the live stream's tail (oldest first after a cursor). Shared by the
 * dashboard and the gateway so both return the same event shape (SPEC §10).
 *
 * History: keyset on (ts, id), newest first — constant cost at any depth, unlike OFFSET.
 * Stream: `id > cursor`, oldest first. Ids are assigned in commit order (server/audit/
 * pipeline.ts takes an advisory lock per batch), so the stream never skips a row that
 * commits later.
 */
import { z } from "zod";
import { AUDIT_KINDS, type AuditDecision, type AuditKind, type AuditVia } from "../audit/types";

/** Anything with pg's `query(text, values)`: a Pool, a Client, a PoolClient. */
export interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export interface AuditEvent {
  id: string;
  ts: string;
  lastTs: string | null;
  gatewayId: string;
  kind: AuditKind;
  /** How the request reached the decision: the gateway itself or a proxy's forward-auth subrequest. */
  via: AuditVia;
  tenant: string | null;
  /** Null on a `dropped` row (no decision, no reason; the cause is in details). */
  decision: AuditDecision | null;
  reason: string | null;
  origin: string | null;
  originNormalized: string | null;
  remoteAddr: string | null;
  userAgent: string | null;
  path: string | null;
  subprotocol: string | null;
  policyVersion: number | null;
  matchedPattern: string | null;
  count: number;
  closeCode: number | null;
  durationMs: number | null;
  details: Record<string, unknown> | null;
}

/**
 * The select list. It renames `id::text` to `id`, so an `order by id` next to it would sort
 * by that text output column ("9" after "10"), not by the bigint column, and could not use
 * the primary key: always write `order by audit_event.id`.
 */
export const AUDIT_COLUMNS = `id::text as id, ts, last_ts, gateway_id, kind, via, tenant, decision, reason, origin,
  origin_normalized, remote_addr, user_agent, path, subprotocol, policy_version, matched_pattern, count,
  close_code, duration_ms, details`;

interface AuditRow {
  id: string;
  ts: Date;
  last_ts: Date | null;
  gateway_id: string;
  kind: AuditEvent["kind"];
  via: AuditEvent["via"];
  tenant: string | null;
  decision: AuditEvent["decision"];
  reason: string | null;
  origin: string | null;
  origin_normalized: string | null;
  remote_addr: string | null;
  user_agent: string | null;
  path: string | null;
  subprotocol: string | null;
  policy_version: number | null;
  matched_pattern: string | null;
  count: number;
  close_code: number | null;
  duration_ms: number | null;
  details: Record<string, unknown> | null;
}

export function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    ts: r.ts.toISOString(),
    lastTs: r.last_ts ? r.last_ts.toISOString() : null,
    gatewayId: r.gateway_id,
    kind: r.kind,
    via: r.via,
    tenant: r.tenant,
    decision: r.decision,
    reason: r.reason,
    origin: r.origin,
    originNormalized: r.origin_normalized,
    remoteAddr: r.remote_addr,
    userAgent: r.user_agent,
    path: r.path,
    subprotocol: r.subprotocol,
    policyVersion: r.policy_version,
    matchedPattern: r.matched_pattern,
    count: r.count,
    closeCode: r.close_code,
    durationMs: r.duration_ms,
    details: r.details,
  };
}

const bigintId = z.string().regex(/^\d{1,19}$/, "must be an event id (digits)");
/** Keyset position of the history: `<epoch ms of ts>_<id>` of the last row of a page. */
const historyCursor = z.string().regex(/^\d{1,15}_\d{1,19}$/, "must be a cursor returned as nextCursor");
const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

/** Filters of the history search, validated at the boundary (query string → this). */
export const auditFilterSchema = z
  .object({
    tenant: z.string().min(1).max(63).optional(),
    decision: z.enum(["accepted", "rejected", "report_only"]).optional(),
    reason: z
      .string()
      .regex(/^[a-z_]{1,40}$/, "must be a reason code")
      .optional(),
    /** How the request came: `gateway` or `forward_auth`. */
    via: z.enum(["gateway", "forward_auth"]).optional(),
    kind: z.enum(AUDIT_KINDS).optional(),
    /** Exact origin (as normalized by the gateway, or as sent when it was malformed). */
    origin: z.string().min(1).max(512).optional(),
    since: isoDate.optional(),
    until: isoDate.optional(),
    /** Continue after this page (the `nextCursor` of the previous one). */
    cursor: historyCursor.optional(),
    /** Only events with an id below this one (e.g. what came before a live stream's start). */
    beforeId: bigintId.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export type AuditFilter = z.input<typeof auditFilterSchema>;

/** WHERE clause for the filters (without cursor), with its parameters. */
export function auditWhere(
  f: Omit<z.output<typeof auditFilterSchema>, "cursor" | "beforeId" | "limit">,
  values: unknown[],
): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  if (f.tenant) add((p) => `tenant = ${p}`, f.tenant);
  if (f.decision) add((p) => `decision = ${p}::audit_decision`, f.decision);
  if (f.reason) add((p) => `reason = ${p}`, f.reason);
  if (f.kind) add((p) => `kind = ${p}::audit_kind`, f.kind);
  if (f.via) add((p) => `via = ${p}::audit_via`, f.via);
  if (f.origin) add((p) => `(origin_normalized = ${p} or (origin_normalized is null and origin = ${p}))`, f.origin);
  if (f.since) add((p) => `ts >= ${p}::timestamptz`, f.since);
  if (f.until) add((p) => `ts < ${p}::timestamptz`, f.until);
  return where;
}

/**
 * One page of history, newest first by event time (ts, then id), keyset-paginated on
 * (ts, id): every filter has an index that starts with it and continues with (ts, id), so
 * a page costs the same at any depth and a time window is a range of that index (ordering
 * by id alone made a window far in the past walk every newer row first). `nextCursor` is
 * null on the last page.
 */
export async function searchAudit(
  db: Queryable,
  filter: AuditFilter,
): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const f = auditFilterSchema.parse(filter);
  const values: unknown[] = [];
  const where = auditWhere(f, values);
  if (f.cursor) {
    const [ms, id] = f.cursor.split("_");
    values.push(ms, id);
    where.push(
      `(ts, id) < ('epoch'::timestamptz + $${values.length - 1}::bigint * interval '1 millisecond', $${values.length}::bigint)`,
    );
  }
  if (f.beforeId) {
    values.push(f.beforeId);
    where.push(`id < $${values.length}::bigint`);
  }
  values.push(f.limit + 1);
  const { rows } = await db.query<AuditRow>(
    `select ${AUDIT_COLUMNS} from audit_event ${where.length ? `where ${where.join(" and ")}` : ""}
      order by ts desc, audit_event.id desc limit $${values.length}`,
    values,
  );
  const more = rows.length > f.limit;
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return { events: page.map(toAuditEvent), nextCursor: more && last ? `${last.ts.getTime()}_${last.id}` : null };
}

/** Events after `afterId`, oldest first (stream backfill and tail). */
export async function auditAfter(
  db: Queryable,
  afterId: string,
  limit: number,
  filter: { tenant?: string; decision?: AuditDecision } = {},
): Promise<AuditEvent[]> {
  const values: unknown[] = [];
  const where = auditWhere(filter, values);
  values.push(afterId);
  where.push(`id > $${values.length}::bigint`);
  values.push(limit);
  const { rows } = await db.query<AuditRow>(
    `select ${AUDIT_COLUMNS} from audit_event where ${where.join(" and ")} order by audit_event.id asc limit $${values.length}`,
    values,
  );
  return rows.map(toAuditEvent);
}

export async function latestAuditId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string | null }>("select max(id)::text as id from audit_event");
  return rows[0]?.id ?? "0";
}

/** Accepted vs rejected decisions (handshakes and HTTP requests, any via) per time bucket (folded counts included). */
export async function auditTimeline(
  db: Queryable,
  options: { tenant?: string; since: Date; until: Date; bucketSeconds: number },
): Promise<Array<{ bucket: string; accepted: number; rejected: number; reportOnly: number }>> {
  const values: unknown[] = [options.since.toISOString(), options.until.toISOString(), options.bucketSeconds];
  const tenantFilter = options.tenant ? `and tenant = $${values.push(options.tenant)}` : "";
  const { rows } = await db.query<{ bucket: Date; accepted: number; rejected: number; report_only: number }>(
    `select to_timestamp(floor(extract(epoch from ts) / $3) * $3) as bucket,
            coalesce(sum(count) filter (where decision = 'accepted'), 0)::int as accepted,
            coalesce(sum(count) filter (where decision = 'rejected'), 0)::int as rejected,
            coalesce(sum(count) filter (where decision = 'report_only'), 0)::int as report_only
       from audit_event
      where kind in ('handshake', 'http', 'preflight') and ts >= $1::timestamptz and ts < $2::timestamptz ${tenantFilter}
      group by 1 order by 1`,
    values,
  );
  return rows.map((r) => ({
    bucket: r.bucket.toISOString(),
    accepted: r.accepted,
    rejected: r.rejected,
    reportOnly: r.report_only,
  }));
}

/** The origins refused most often since `since`, handshakes and HTTP requests alike (folded counts included). */
export async function topRejectedOrigins(
  db: Queryable,
  options: { tenant?: string; since: Date; limit: number },
): Promise<Array<{ origin: string; tenant: string | null; count: number; lastSeen: string; reasons: string[] }>> {
  const values: unknown[] = [options.since.toISOString(), options.limit];
  const tenantFilter = options.tenant ? `and tenant = $${values.push(options.tenant)}` : "";
  // Served by the partial index audit_event_rejected_origin_ts_idx (migration extras).
  const { rows } = await db.query<{
    origin: string;
    tenant: string | null;
    count: number;
    last_seen: Date;
    reasons: string[];
  }>(
    `select coalesce(origin_normalized, origin, '(none)') as origin, tenant, sum(count)::int as count,
            max(coalesce(last_ts, ts)) as last_seen, array_agg(distinct reason) as reasons
       from audit_event
      where decision = 'rejected' and kind in ('handshake', 'http', 'preflight') and ts >= $1::timestamptz ${tenantFilter}
      group by 1, 2 order by 3 desc, 1 limit $2`,
    values,
  );
  return rows.map((r) => ({
    origin: r.origin,
    tenant: r.tenant,
    count: r.count,
    lastSeen: r.last_seen.toISOString(),
    reasons: r.reasons,
  }));
}
