/**
 * The audit explorer's aggregates over the history's filters (server/db/audit-fields.ts):
 *
 * - facets (`GET /api/v1/audit/facets`): for each facet field, its most frequent values with
 *   their event counts (folded events weigh their `count`), Datadog-style: a field's own filter
 *   is left out of its counts, so the other values stay visible beside the chosen one. Counted
 *   over the newest FACET_SCAN_LIMIT matching rows (an index walk newest first, as the history
 *   page); `complete` says whether that was every matching row, so the dashboard can say
 *   "in the newest 50,000" when it was not;
 * - the histogram (`GET /api/v1/audit/histogram`): events per time bucket, split by reason
 *   (events without one — closes, dropped rows — by kind), about 60–90 buckets over the window.
 *   It counts the matching events of the window (partitions outside it are never read).
 *
 * Origin substring/prefix filters apply as patterns on the events here (bounded by the scan
 * limit or the window), not through audit_origin as the history page does.
 */
import type { z } from "zod";
import { AUDIT_FIELDS, AUDIT_RANGES, type AuditFieldSpec } from "./audit-fields";
import { type auditFilterObject, auditWhere, type Queryable } from "./audit-queries";

export type AuditExploreFilter = Omit<z.output<typeof auditFilterObject>, "limit" | "sort" | "cursor" | "beforeId">;

export const FACET_SCAN_LIMIT = 50_000;
const FACET_TOP = 8;

export interface FacetValue {
  /** Null: the event has no value for the field (e.g. no User-Agent). */
  value: string | null;
  count: number;
}

export interface AuditFacets {
  facets: Record<string, FacetValue[]>;
  /** Events (folded counts included) matching every filter, among the rows scanned. */
  total: number;
  /** Rows read for the counts with every filter (at most FACET_SCAN_LIMIT). */
  scanned: number;
  /** True when every matching row was counted (false: the newest FACET_SCAN_LIMIT were). */
  complete: boolean;
}

const FACET_FIELDS = (AUDIT_FIELDS as readonly AuditFieldSpec[]).filter((f) => f.facet);

/**
 * Facet counts. One query counts every facet whose field is not filtered (all filters
 * applied); each filtered field gets its own query without its filter.
 */
export async function auditFacets(
  db: Queryable,
  filter: AuditExploreFilter,
  options: {
    scanLimit?: number;
    top?: number;
    /** Fields whose filter is never left out: a tenant-scoped API token's tenant (fail closed). */
    fixed?: readonly string[];
  } = {},
): Promise<AuditFacets> {
  const scanLimit = options.scanLimit ?? FACET_SCAN_LIMIT;
  const top = options.top ?? FACET_TOP;
  const fixed = new Set(options.fixed ?? []);
  const active = new Set(
    FACET_FIELDS.filter(
      (f) => typeof (filter as Record<string, unknown>)[f.param] === "string" && !fixed.has(f.param),
    ).map((f) => f.param),
  );
  const unfiltered = FACET_FIELDS.filter((f) => !active.has(f.param));
  const [all, ...own] = await Promise.all([
    facetQuery(db, filter, unfiltered, undefined, scanLimit, top),
    ...FACET_FIELDS.filter((f) => active.has(f.param)).map((f) => facetQuery(db, filter, [f], f.param, scanLimit, top)),
  ]);
  const facets: Record<string, FacetValue[]> = {};
  for (const part of [all, ...own]) Object.assign(facets, part!.facets);
  return { facets, total: all!.total, scanned: all!.scanned, complete: all!.scanned < scanLimit };
}

async function facetQuery(
  db: Queryable,
  filter: AuditExploreFilter,
  fields: AuditFieldSpec[],
  except: string | undefined,
  scanLimit: number,
  top: number,
): Promise<{ facets: Record<string, FacetValue[]>; total: number; scanned: number }> {
  const values: unknown[] = [scanLimit, top];
  const where = auditWhere(filter, values, { mode: "patterns" }, except);
  const columns = fields.map((f, i) => `${f.sql}::text as c${i}`);
  const groups = fields.map(
    (_, i) => `select ${i} as field, c${i} as value, sum(count)::bigint as n from scanned group by c${i}`,
  );
  const { rows } = await db.query<{ field: number; value: string | null; n: string; scanned: string; total: string }>(
    `with scanned as materialized (
       select ${[...columns, "count"].join(", ")} from audit_event
        ${where.length ? `where ${where.join(" and ")}` : ""}
        order by ts desc, id desc limit $1
     ),
     totals as (select count(*)::bigint as scanned, coalesce(sum(count), 0)::bigint as total from scanned)
     select t.scanned::text as scanned, t.total::text as total, g.field, g.value, g.n::text as n
       from totals t left join (
         select field, value, n from (
           select field, value, n, row_number() over (partition by field order by n desc, value) as rank
             from (${groups.length ? groups.join(" union all ") : "select null::int as field, null::text as value, null::bigint as n where false"}) as counted
         ) as ranked where rank <= $2
       ) as g on true
      order by g.field, g.n desc, g.value`,
    values,
  );
  const facets: Record<string, FacetValue[]> = {};
  for (const f of fields) facets[f.param] = [];
  for (const r of rows) {
    if (r.field === null || r.field === undefined) continue;
    facets[fields[r.field]!.param]!.push({ value: r.value, count: Number(r.n) });
  }
  return { facets, total: Number(rows[0]?.total ?? 0), scanned: Number(rows[0]?.scanned ?? 0) };
}

/** Bucket sizes the histogram chooses from: the smallest giving at most MAX_BUCKETS over the window. */
const BUCKET_SECONDS = [10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
const MAX_BUCKETS = 90;
/** Reasons beyond this many (by total) are counted together as "other". */
const MAX_SERIES = 8;
/** Without a range or since, the histogram shows the last day. */
const DEFAULT_SPAN_MS = 86_400_000;

export interface AuditHistogram {
  since: string;
  until: string;
  bucketSeconds: number;
  /** Reasons (or kinds, for events without a reason), largest total first; "other" last. */
  series: string[];
  buckets: Array<{ bucket: string; counts: Record<string, number>; total: number }>;
}

/** The histogram's window and bucket size for a filter at `now`. */
export function histogramWindow(filter: AuditExploreFilter, now: Date) {
  const until = filter.until ? new Date(filter.until) : now;
  const since = filter.range
    ? new Date(now.getTime() - AUDIT_RANGES[filter.range].ms)
    : filter.since
      ? new Date(filter.since)
      : new Date(until.getTime() - DEFAULT_SPAN_MS);
  const spanSeconds = Math.max(1, (until.getTime() - since.getTime()) / 1000);
  const bucketSeconds = BUCKET_SECONDS.find((s) => spanSeconds / s <= MAX_BUCKETS) ?? BUCKET_SECONDS.at(-1)!;
  const step = bucketSeconds * 1000;
  const first = Math.floor(since.getTime() / step) * step;
  return { since, until, bucketSeconds, first, buckets: Math.ceil((until.getTime() - first) / step) };
}

export async function auditHistogram(
  db: Queryable,
  filter: AuditExploreFilter,
  now = new Date(),
): Promise<AuditHistogram> {
  const window = histogramWindow(filter, now);
  // The window is the filter's own (range resolved once, at `now`).
  const { range: _range, ...rest } = filter;
  const values: unknown[] = [window.bucketSeconds];
  const where = auditWhere({ ...rest, since: window.since.toISOString(), until: window.until.toISOString() }, values, {
    mode: "patterns",
  });
  const { rows } = await db.query<{ bucket: Date; series: string; n: string }>(
    `select date_bin($1 * interval '1 second', ts, 'epoch'::timestamptz) as bucket,
            coalesce(reason, kind::text) as series, sum(count)::bigint::text as n
       from audit_event where ${where.join(" and ")}
      group by 1, 2`,
    values,
  );
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.series, (totals.get(r.series) ?? 0) + Number(r.n));
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s);
  const kept = new Set(ranked.slice(0, ranked.length > MAX_SERIES ? MAX_SERIES - 1 : MAX_SERIES));
  const series = ranked.filter((s) => kept.has(s));
  if (kept.size < ranked.length) series.push("other");
  const step = window.bucketSeconds * 1000;
  const buckets = Array.from({ length: window.buckets }, (_, i) => ({
    bucket: new Date(window.first + i * step).toISOString(),
    counts: {} as Record<string, number>,
    total: 0,
  }));
  for (const r of rows) {
    const index = Math.floor((r.bucket.getTime() - window.first) / step);
    const bucket = buckets[index];
    if (!bucket) continue;
    const key = kept.has(r.series) ? r.series : "other";
    bucket.counts[key] = (bucket.counts[key] ?? 0) + Number(r.n);
    bucket.total += Number(r.n);
  }
  return {
    since: window.since.toISOString(),
    until: window.until.toISOString(),
    bucketSeconds: window.bucketSeconds,
    series,
    buckets,
  };
}
