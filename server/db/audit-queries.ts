/**
 * Reading audit events: the history search (`GET /api/v1/audit`, newest first, keyset
 * pagination on id) and the live stream's tail (oldest first after a cursor). Shared by the
 * dashboard and the gateway so both return the same event shape (SPEC §10).
 *
 * History: keyset on (ts, id), newest first — constant cost at any depth, unlike OFFSET.
 * Stream: `id > cursor`, oldest first. Ids are assigned in commit order (server/audit/
 * pipeline.ts takes an advisory lock per batch), so the stream never skips a row that
 * commits later.
 *
 * The overview (timeline, top rejected origins) and origin substring/prefix search read the
 * audit summary (server/audit/summary.ts) for the events up to its watermark and audit_event
 * for the few after it: exact, and cheap at tens of millions of events.
 */
import { z } from "zod";
import type { AuditDecision, AuditKind, AuditVia } from "../audit/types";
import {
  AUDIT_FIELDS,
  AUDIT_RANGE_KEYS,
  AUDIT_RANGES,
  AUDIT_SORT_VALUES,
  AUDIT_SORTS,
  type AuditFieldSpec,
  type AuditSortColumn,
  auditFieldShape,
  parseAuditSort,
} from "./audit-fields";

/** Anything with pg's `query(text, values)`: a Pool, a Client, a PoolClient. */
export interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

interface PoolLike extends Queryable {
  totalCount: number;
  connect(): Promise<Queryable & { release(error?: Error | boolean): void }>;
}

/**
 * Runs `read` with the audit summary's watermark, in one snapshot with it: on a pool, inside a
 * REPEATABLE READ READ ONLY transaction (so a summary pass committing meanwhile can neither
 * hide events nor count them twice); on a single client, as it is (the caller owns it). The
 * watermark is passed as a value, so the planner sees it (a subquery would be estimated blind).
 */
export async function withSummaryWatermark<T>(
  db: Queryable,
  read: (q: Queryable, watermark: string) => Promise<T>,
): Promise<T> {
  const WATERMARK = "select last_id::text as w from audit_summary_state where id = 1";
  if (typeof (db as PoolLike).totalCount !== "number") {
    return read(db, (await db.query<{ w: string }>(WATERMARK)).rows[0]?.w ?? "0");
  }
  const client = await (db as PoolLike).connect();
  let broken: Error | undefined;
  try {
    // One round trip for both (no parameters: the simple protocol runs the two statements and
    // answers with both results). On a busy machine every round trip is a wait for the CPU.
    try {
      const [, state] = (await client.query(
        `begin isolation level repeatable read read only; ${WATERMARK}`,
      )) as unknown as Array<{ rows: Array<{ w: string }> }>;
      const result = await read(client, state?.rows[0]?.w ?? "0");
      await client.query("commit");
      return result;
    } catch (error) {
      await client.query("rollback").catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
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
  /** Where a shadow (staged) version decided differently (SPEC §5.2): its decision, reason and version; else null. */
  shadowDecision: AuditDecision | null;
  shadowReason: string | null;
  shadowVersion: number | null;
}

/**
 * The select list. It renames `id::text` to `id`, so an `order by id` next to it would sort
 * by that text output column ("9" after "10"), not by the bigint column, and could not use
 * the primary key: always write `order by audit_event.id`.
 */
export const AUDIT_COLUMNS = `id::text as id, ts, last_ts, gateway_id, kind, via, tenant, decision, reason, origin,
  origin_normalized, remote_addr, user_agent, path, subprotocol, policy_version, matched_pattern, count,
  close_code, duration_ms, details, shadow_decision, shadow_reason, shadow_version`;

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
  shadow_decision: AuditDecision | null;
  shadow_reason: string | null;
  shadow_version: number | null;
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
    shadowDecision: r.shadow_decision ?? null,
    shadowReason: r.shadow_reason ?? null,
    shadowVersion: r.shadow_version ?? null,
  };
}

const bigintId = z.string().regex(/^\d{1,19}$/, "must be an event id (digits)");
/** Keyset position of the history: `<epoch ms of ts>_<id>` of the last row of a page. */
const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

/**
 * Keyset position of a page sorted by another column than time: `<ms>_<id>_<base64url of the
 * value>`, or `<ms>_<id>_~` after an event without a value (auditCursor).
 */
const sortedCursor = z
  .string()
  .regex(/^\d{1,15}_\d{1,19}(_([A-Za-z0-9_-]{0,700}|~))?$/, "must be a cursor returned as nextCursor");

/**
 * Filters of the history search, validated at the boundary (query string → this). The
 * per-field filters (tenant, decision, reason, kind, via, client address, user agent, path…)
 * come from one list, server/db/audit-fields.ts.
 */
export const auditFilterObject = z
  .object({
    ...auditFieldShape,
    /** `differs`: only events where a shadow version decided differently (SPEC §5.2). */
    shadow: z.enum(["differs"]).optional(),
    /** Exact origin (as normalized by the gateway, or as sent when it was malformed). */
    origin: z.string().min(1).max(512).optional(),
    /**
     * Origins (the same value as `origin` compares) containing this text, case-insensitively.
     * At least 3 characters: the trigram index (pg_trgm) that serves it needs one trigram.
     */
    originContains: z
      .string()
      .min(3, "must be at least 3 characters (shorter text matches almost every origin)")
      .max(512)
      .optional(),
    /** Origins starting with this text, case-insensitively (e.g. `https://app.`). */
    originPrefix: z.string().min(1).max(512).optional(),
    /** A relative window ending now (`15m`, `1h`, `4h`, `24h`, `7d`, `30d`); not with `since`/`until`. */
    range: z.enum(AUDIT_RANGE_KEYS).optional(),
    since: isoDate.optional(),
    until: isoDate.optional(),
    /** `-ts` (newest first, the default), `ts`, or another column (`count`, `-count`, `origin`…). */
    sort: z.enum(AUDIT_SORT_VALUES).optional(),
    /** Continue after this page (the `nextCursor` of the previous one). */
    cursor: sortedCursor.optional(),
    /** Only events with an id below this one (e.g. what came before a live stream's start). */
    beforeId: bigintId.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** The checks across parameters (kept apart: zod cannot `.omit` an object that has refinements). */
export function refineAuditFilter(
  f: { range?: string; since?: string; until?: string; sort?: string; cursor?: string },
  ctx: z.RefinementCtx,
): void {
  if (f.range && (f.since || f.until)) {
    ctx.addIssue({ code: "custom", path: ["range"], message: "give either range or since/until, not both" });
  }
  if (f.since && f.until && Date.parse(f.since) >= Date.parse(f.until)) {
    ctx.addIssue({ code: "custom", path: ["until"], message: "must be later than since" });
  }
  if (f.cursor && (parseAuditSort(f.sort).column === "ts") !== (f.cursor.split("_").length === 2)) {
    ctx.addIssue({ code: "custom", path: ["cursor"], message: "this cursor belongs to another sort order" });
  } else if (f.cursor && AUDIT_SORTS[parseAuditSort(f.sort).column].type === "int") {
    const { value } = parseCursor(f.cursor);
    if (value === null || !/^-?\d{1,10}$/.test(value)) {
      ctx.addIssue({ code: "custom", path: ["cursor"], message: "this cursor belongs to another sort order" });
    }
  }
}

export const auditFilterSchema = auditFilterObject.superRefine(refineAuditFilter);

export type AuditFilter = z.input<typeof auditFilterSchema>;

/** The kinds of event that carry a decision on a request: what the overview counts (handshakes and HTTP requests). */
export const DECIDED_KINDS_SQL = "kind in ('handshake', 'http', 'preflight')";

/**
 * The tester's own handshakes (server/gateway/tester-mark.ts): the summary leaves them out of
 * the statistics, and the overview reads them from audit_event only when asked to include them.
 */
export const NOT_TESTER_SQL = "via <> 'tester'";
export const TESTER_SQL = "via = 'tester'";

/** The origin every origin filter compares: normalized, or as sent when it could not be normalized. */
export const ORIGIN_EXPRESSION = "coalesce(origin_normalized, origin)";
/**
 * Rows an impact preview replays (SPEC §5.2): handshakes (gateway or forward auth, never the
 * tester's own) that the policy judged and that recorded the replay facts, of a tenant.
 */
export const REPLAYABLE_SQL =
  "kind = 'handshake' and via <> 'tester' and token_state is not null and credentials is not null and coalesce(tenant, '') <> ''";
/** Rows that count as a match of an allowlist entry: decided requests that named the entry (not the tester's). */
export const PATTERN_HIT_SQL = `matched_pattern is not null and via <> 'tester' and coalesce(tenant, '') <> '' and ${DECIDED_KINDS_SQL}`;
/**
 * Substring and prefix search look the values up in the summary's dictionary first; when more
 * than this many distinct values match, the pattern is broad and is applied to the events directly.
 */
const MAX_MATCHED_VALUES = 1000;

/**
 * The text filters a dictionary of the audit summary serves (server/audit/summary.ts): every
 * origin (audit_origin) and every user agent (audit_user_agent) seen, each a small table with
 * a trigram index. A substring or prefix filter finds its values there, then the history by
 * those exact values (indexed, so a value that is rare, bursty or absent costs a few index
 * probes, not a walk of every partition) up to the summary's watermark, and by the pattern
 * itself after it (a few seconds of events).
 */
export const AUDIT_DICTIONARIES = {
  origin: {
    table: "audit_origin",
    column: "origin",
    /** What the filter compares on audit_event. */
    expression: ORIGIN_EXPRESSION,
    /** The indexed expression equal values are found by (audit_event_origin_ts_id_idx). */
    hash: null,
    patterns: (f: DictionaryFilter) => [
      ...(f.originContains ? [`%${escapeLike(f.originContains)}%`] : []),
      ...(f.originPrefix ? [`${escapeLike(f.originPrefix)}%`] : []),
    ],
  },
  userAgent: {
    table: "audit_user_agent",
    column: "user_agent",
    expression: "user_agent",
    /** Found by a hash of the value (audit_event_user_agent_hash_ts_id_idx); the value is compared too. */
    hash: "hashtext",
    patterns: (f: DictionaryFilter) => (f.userAgent ? [`%${escapeLike(f.userAgent)}%`] : []),
  },
} as const;
export type AuditDictionary = keyof typeof AUDIT_DICTIONARIES;
const DICTIONARY_NAMES = Object.keys(AUDIT_DICTIONARIES) as AuditDictionary[];
type DictionaryFilter = { originContains?: string; originPrefix?: string; userAgent?: string };

/** The exact values a dictionary matched (with their hashes when it looks them up by hash). */
export interface MatchedValues {
  values: string[];
  hashes: number[];
}

/**
 * The values of each dictionary whose filter is given (`null`: more than MAX_MATCHED_VALUES,
 * the pattern applies to the events directly); dictionaries without a filter are absent.
 */
export async function matchedValues(
  db: Queryable,
  f: DictionaryFilter,
): Promise<Partial<Record<AuditDictionary, MatchedValues | null>>> {
  const matched: Partial<Record<AuditDictionary, MatchedValues | null>> = {};
  for (const name of DICTIONARY_NAMES) {
    const d = AUDIT_DICTIONARIES[name];
    const patterns = d.patterns(f);
    if (patterns.length === 0) continue;
    const { rows } = await db.query<{ value: string; hash: number | null }>(
      `select ${d.column} as value, ${d.hash ? `${d.hash}(${d.column})` : "null::int"} as hash from ${d.table}
        where ${patterns.map((_, i) => `${d.column} ilike $${i + 1}`).join(" and ")}
        limit ${MAX_MATCHED_VALUES + 1}`,
      patterns,
    );
    matched[name] =
      rows.length > MAX_MATCHED_VALUES
        ? null
        : { values: rows.map((r) => r.value), hashes: rows.map((r) => r.hash ?? 0) };
  }
  return matched;
}

/** `text` as a LIKE pattern matching itself (`%`, `_` and the escape character `\` escaped). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * How the dictionary filters (origin substring/prefix, user agent) are applied: to the events
 * directly by their patterns (`patterns`), or in two disjoint parts — `summarized`: the events
 * whose value is one the dictionary matched, whatever their id (their index finds them; a bound
 * on id would bring the primary key of every partition into the plan, and planning 40
 * partitions is most of such a page's time); `recent`: the events after the summary's watermark
 * that match the patterns with a value the dictionary did not have (a few seconds of events).
 * A dictionary absent from `matched` (or null there) applies its pattern in both parts.
 */
export type SummarySearch =
  | { mode: "patterns" }
  | {
      mode: "summarized" | "recent";
      matched: Partial<Record<AuditDictionary, MatchedValues | null>>;
      watermark: string;
    };

/**
 * WHERE clause for the filters (without cursor), with its parameters. `search` says how the
 * dictionary filters apply (default: the patterns, on the events directly).
 */
export function auditWhere(
  f: Omit<z.output<typeof auditFilterSchema>, "cursor" | "beforeId" | "limit" | "sort">,
  values: unknown[],
  search: SummarySearch = { mode: "patterns" },
  /** A field whose filter is left out (its own facet counts the other values too). */
  except?: string,
): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  const values_ = f as Record<string, unknown>;
  for (const field of AUDIT_FIELDS as readonly AuditFieldSpec[]) {
    const value = values_[field.param];
    if (typeof value !== "string" || value === "" || field.param === except) continue;
    // A dictionary's field (the user agent) is applied below, with the dictionaries.
    if (field.param in AUDIT_DICTIONARIES) continue;
    add((p) => fieldCondition(field, p), field.match === "exact" ? value : likePattern(field, value));
  }
  // Rows with a shadow decision are few; the partial index audit_event_shadow_ts_id_idx holds only them.
  if (f.shadow || f.shadowDecision || f.shadowVersion) where.push("shadow_decision is not null");
  // One expression for every origin filter (audit_event_origin_ts_id_idx): the origin as
  // normalized, or as sent when it was malformed.
  if (f.origin) add((p) => `${ORIGIN_EXPRESSION} = ${p}`, f.origin);
  const summarizedValues: string[] = [];
  for (const name of DICTIONARY_NAMES) {
    if (name === except) continue;
    const d = AUDIT_DICTIONARIES[name];
    const patterns = d.patterns(f);
    if (patterns.length === 0) continue;
    const matched = search.mode === "patterns" ? null : (search.matched[name] ?? null);
    if (matched && search.mode === "summarized") where.push(exactValues(d, matched, values));
    else {
      for (const pattern of patterns) add((p) => `${d.expression} ilike ${p}`, pattern);
      if (matched) summarizedValues.push(exactValues(d, matched, values));
    }
  }
  if (search.mode === "recent" && summarizedValues.length > 0) {
    // Not what the summarized part finds (the pattern matched, so the values are not null).
    where.push(`not (${summarizedValues.join(" and ")})`);
    add((p) => `id > ${p}::bigint`, search.watermark);
  }
  if (f.range) add((p) => `ts >= ${p}::timestamptz`, new Date(Date.now() - AUDIT_RANGES[f.range].ms).toISOString());
  if (f.since) add((p) => `ts >= ${p}::timestamptz`, f.since);
  if (f.until) add((p) => `ts < ${p}::timestamptz`, f.until);
  return where;
}

/**
 * The events whose value is one of `matched`: `=` for one value (the index then yields the
 * rows in (ts, id) order, so a page reads only its rows), `= any` for several, `false` for none.
 */
function exactValues(
  d: (typeof AUDIT_DICTIONARIES)[AuditDictionary],
  matched: MatchedValues,
  values: unknown[],
): string {
  if (matched.values.length === 0) return "false";
  const one = matched.values.length === 1;
  const param = (value: unknown, type: string) =>
    `${one ? "" : "any("}$${values.push(one ? (value as unknown[])[0] : value)}::${type}${one ? "" : "[])"}`;
  const byValue = `${d.expression} = ${param(matched.values, "text")}`;
  return d.hash ? `${d.hash}(${d.expression}) = ${param(matched.hashes, "int")} and ${byValue}` : byValue;
}

/** The SQL condition of one field's filter, its value at `p`. */
function fieldCondition(field: AuditFieldSpec, p: string): string {
  if (field.match === "exact") return `${field.sql} = ${p}${field.cast ? `::${field.cast}` : ""}`;
  return field.match === "contains" ? `${field.sql} ilike ${p}` : `${field.sql} like ${p}`;
}

function likePattern(field: AuditFieldSpec, value: string): string {
  return field.match === "contains" ? `%${escapeLike(value)}%` : `${escapeLike(value)}%`;
}

/**
 * One page of history, newest first by event time (ts, then id) or in another column's order,
 * keyset-paginated: every filter has an index that starts with it and continues with (ts, id),
 * so a page costs the same at any depth and a time window is a range of that index (ordering
 * by id alone made a window far in the past walk every newer row first). Other columns sort
 * by runs of the order that an index serves (sortRuns). `nextCursor` is null on the last page.
 */
export async function searchAudit(
  db: Queryable,
  filter: AuditFilter,
): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const f = auditFilterSchema.parse(filter);
  if (DICTIONARY_NAMES.every((name) => AUDIT_DICTIONARIES[name].patterns(f).length === 0)) {
    return historyPage(db, f, [{ mode: "patterns" }]);
  }
  // Origin substring/prefix, user agent: the matching values from the summary's dictionaries,
  // then the events by exact value (indexed) up to the summary's watermark, and by the patterns
  // after it — two disjoint parts.
  return withSummaryWatermark(db, async (q, watermark) => {
    const matched = await matchedValues(q, f);
    const found = Object.values(matched).filter((m) => m !== null);
    if (found.length === 0) return historyPage(q, f, [{ mode: "patterns" }]);
    const recent: SummarySearch = { mode: "recent", matched, watermark };
    // A dictionary that matched nothing: only events after the watermark can match.
    if (found.some((m) => m.values.length === 0)) return historyPage(q, f, [recent]);
    return historyPage(q, f, [{ mode: "summarized", matched, watermark }, recent]);
  });
}

/** `range` turned into the `since` it means at `now` (for a result read in several queries). */
export function resolveAuditRange<T extends { range?: keyof typeof AUDIT_RANGES; since?: string }>(f: T, now: Date): T {
  if (!f.range) return f;
  const { range, ...rest } = f;
  return { ...rest, since: new Date(now.getTime() - AUDIT_RANGES[range].ms).toISOString() } as T;
}

/**
 * A run of a sort order that one index reads in order: its rows (`where`), what it is ordered
 * by before (ts, id) (`order`: the index's leading expression, or null: none), whether the
 * keyset compares that expression too (`keyed`: false when it has one value throughout the
 * run), and whether a cursor's value is in it (`holds`; null: the event had no value).
 */
interface SortRun {
  where: string | null;
  order: string | null;
  keyed: boolean;
  holds: (value: string | null) => boolean;
}

/**
 * The runs of a sort order, in page order. Time is one run. `count`: its folded rows (count
 * <> 1, indexed by count: audit_event_count_ts_id_idx) below and above the unfolded ones (count
 * = 1, most rows, read in time order). The other columns sort by the column itself (the
 * expression its filter's index starts with) and put the events without a value last, in
 * either direction. Those are read from the same index, ordered by the (null) column too: the
 * planner does not take `x is null` for one value, so only that order is the index's.
 */
export function sortRuns(column: AuditSortColumn, descending: boolean): SortRun[] {
  const sql = AUDIT_SORTS[column].sql;
  if (sql === null) return [{ where: null, order: null, keyed: false, holds: () => true }];
  if (column === "count") {
    const runs: SortRun[] = [
      { where: "count < 1", order: "count", keyed: true, holds: (v) => Number(v) < 1 },
      { where: "count = 1", order: null, keyed: false, holds: (v) => Number(v) === 1 },
      { where: "count > 1", order: "count", keyed: true, holds: (v) => Number(v) > 1 },
    ];
    return descending ? runs.reverse() : runs;
  }
  return [
    { where: `${sql} is not null`, order: sql, keyed: true, holds: (v) => v !== null },
    { where: `${sql} is null`, order: sql, keyed: false, holds: (v) => v === null },
  ];
}

/** The whole order of a sort as one ORDER BY (what the runs add up to; for comparisons and tests). */
export function auditOrderBy(sort: string | undefined): string {
  const { column, descending } = parseAuditSort(sort);
  const sql = AUDIT_SORTS[column].sql;
  const dir = descending ? "desc" : "asc";
  const value = sql === null ? "" : `${sql} ${dir}${column === "count" ? "" : " nulls last"}, `;
  return `${value}ts ${dir}, audit_event.id ${dir}`;
}

/** A cursor value that stands for "no value" (outside base64url's alphabet). */
const NULL_CURSOR_VALUE = "~";

/**
 * The cursor of a page's last row: `<epoch ms of ts>_<id>` when sorted by time; otherwise
 * `<ms>_<id>_<base64url of the sort value>`, or `<ms>_<id>_~` when the row had none.
 */
export function auditCursor(
  sort: string | undefined,
  row: { ts: Date; id: string; sortValue?: string | number | null },
): string {
  const position = `${row.ts.getTime()}_${row.id}`;
  if (AUDIT_SORTS[parseAuditSort(sort).column].sql === null) return position;
  const value = row.sortValue ?? null;
  return `${position}_${value === null ? NULL_CURSOR_VALUE : Buffer.from(String(value), "utf8").toString("base64url")}`;
}

/** A cursor's parts; `value` is null for a row without one (and for the time sort). */
function parseCursor(cursor: string): { ms: string; id: string; value: string | null } {
  const [ms, id, ...valueParts] = cursor.split("_");
  const encoded = valueParts.join("_");
  const value = encoded === NULL_CURSOR_VALUE ? null : Buffer.from(encoded, "base64url").toString("utf8");
  return { ms: ms ?? "", id: id ?? "", value: valueParts.length === 0 ? null : value };
}

/**
 * One page in the requested order (newest first by default): the union of `parts` (each a
 * disjoint way to apply the dictionary filters) times the sort's runs from the cursor's on.
 * In the cursor's run, keyset on (value, ts, id), all three in the same direction, so one row
 * comparison continues after the cursor (on (ts, id) in a run of one value); the later runs
 * are read from their start. Each
 * branch reads at most a page from its index; the union is ordered by run, then key.
 */
async function historyPage(
  db: Queryable,
  f: z.output<typeof auditFilterSchema>,
  parts: SummarySearch[],
): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const { column, descending } = parseAuditSort(f.sort);
  const sortSpec = AUDIT_SORTS[column];
  const runs = sortRuns(column, descending);
  const dir = descending ? "desc" : "asc";
  const cmp = descending ? "<" : ">";
  const cursor = f.cursor ? parseCursor(f.cursor) : null;
  const firstRun = cursor
    ? Math.max(
        0,
        runs.findIndex((r) => r.holds(cursor.value)),
      )
    : 0;
  const values: unknown[] = [f.limit + 1];
  const selects: string[] = [];
  for (const search of parts) {
    for (let i = firstRun; i < runs.length; i++) {
      const run = runs[i]!;
      const where = auditWhere(f, values, search);
      if (run.where) where.push(run.where);
      if (cursor && i === firstRun) {
        const tsSql = `'epoch'::timestamptz + $${values.push(cursor.ms)}::bigint * interval '1 millisecond'`;
        const idSql = `$${values.push(cursor.id)}::bigint`;
        if (!run.keyed) where.push(`(ts, id) ${cmp} (${tsSql}, ${idSql})`);
        else {
          const valueSql = `$${values.push(cursor.value)}::text::${sortSpec.type}`;
          where.push(`(${run.order}, ts, id) ${cmp} (${valueSql}, ${tsSql}, ${idSql})`);
        }
      }
      if (f.beforeId) where.push(`id < $${values.push(f.beforeId)}::bigint`);
      const sortValue = sortSpec.sql === null ? "" : `${sortSpec.sql} as sort_value, `;
      const order = `${run.order === null ? "" : `${run.order} ${dir}, `}ts ${dir}, audit_event.id ${dir}`;
      // The events after the watermark (seconds of traffic), read by the primary key and then
      // filtered: planned on their own (offset 0), so the planner does not estimate the patterns
      // against every partition's statistics, which took longer than the read.
      const from =
        search.mode === "recent"
          ? `(select * from audit_event where id > $${values.push(search.watermark)}::bigint offset 0) as audit_event`
          : "audit_event";
      selects.push(`select ${AUDIT_COLUMNS}, ${sortValue}${i} as sort_run, audit_event.id as sort_id from ${from}
        ${where.length ? `where ${where.join(" and ")}` : ""} order by ${order} limit $1`);
    }
  }
  const sql =
    selects.length === 1
      ? selects[0]!
      : `select * from (${selects.map((q) => `(${q})`).join(" union all ")}) as hits
          order by sort_run, ${sortSpec.sql === null ? "" : `sort_value ${dir}, `}ts ${dir}, sort_id ${dir} limit $1`;
  const { rows } = await db.query<AuditRow & { sort_value?: string | number | null }>(sql, values);
  const more = rows.length > f.limit;
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return {
    events: page.map(toAuditEvent),
    nextCursor: more && last ? auditCursor(f.sort, { ts: last.ts, id: last.id, sortValue: last.sort_value }) : null,
  };
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

/** One event by its id (unique by its sequence; the key is (id, ts) as the table is partitioned by ts). */
export async function auditEventById(db: Queryable, id: bigint): Promise<AuditEvent | null> {
  const { rows } = await db.query<AuditRow>(`select ${AUDIT_COLUMNS} from audit_event where id = $1::bigint limit 1`, [
    id.toString(),
  ]);
  return rows[0] ? toAuditEvent(rows[0]) : null;
}

export async function latestAuditId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string | null }>("select max(id)::text as id from audit_event");
  return rows[0]?.id ?? "0";
}

/** The overview's windows (`GET /api/v1/audit/stats?window=`): their length and bucket size. */
export const OVERVIEW_WINDOWS = {
  hour: { seconds: 3600, bucketSeconds: 60 },
  day: { seconds: 86_400, bucketSeconds: 1800 },
} as const;

/**
 * The timeline's buckets of a window at `now`: aligned like the query's (UTC epoch multiples of
 * the bucket size), the last one holding `now`; and where the top-rejected list starts (`now`
 * minus the window).
 */
export function overviewWindow(window: keyof typeof OVERVIEW_WINDOWS, now: Date) {
  const { seconds, bucketSeconds } = OVERVIEW_WINDOWS[window];
  const step = bucketSeconds * 1000;
  const lastStart = Math.floor(now.getTime() / step) * step;
  const buckets = seconds / bucketSeconds;
  return {
    bucketSeconds,
    buckets,
    since: new Date(lastStart - (buckets - 1) * step),
    until: new Date(lastStart + step),
    topSince: new Date(now.getTime() - seconds * 1000),
  };
}

/** Summary buckets are 5 minutes (server/audit/summary.ts): coarser timelines aligned on them read it. */
const SUMMARY_BUCKET_SECONDS = 300;

/**
 * Accepted vs rejected decisions (handshakes and HTTP requests, any via) per time bucket (UTC
 * epoch multiples of bucketSeconds; folded counts included). Windows whose buckets are multiples of the summary's 5 minutes
 * read audit_count up to the watermark plus the events after it; finer ones (the last hour
 * by minute) read the events.
 */
export async function auditTimeline(
  db: Queryable,
  options: { tenant?: string; since: Date; until: Date; bucketSeconds: number; includeTester?: boolean },
): Promise<Array<{ bucket: string; accepted: number; rejected: number; reportOnly: number }>> {
  const fromSummary =
    options.bucketSeconds % SUMMARY_BUCKET_SECONDS === 0 &&
    options.since.getTime() % (SUMMARY_BUCKET_SECONDS * 1000) === 0;
  if (!fromSummary) return timelineQuery(db, options, null);
  return withSummaryWatermark(db, (q, watermark) => timelineQuery(q, options, watermark));
}

async function timelineQuery(
  db: Queryable,
  options: { tenant?: string; since: Date; until: Date; bucketSeconds: number; includeTester?: boolean },
  watermark: string | null,
): Promise<Array<{ bucket: string; accepted: number; rejected: number; reportOnly: number }>> {
  const values: unknown[] = [options.since.toISOString(), options.until.toISOString(), options.bucketSeconds];
  const tenantFilter = options.tenant ? `and tenant = $${values.push(options.tenant)}` : "";
  const tenantParam = values.length;
  const bin = (column: string) => `date_bin($3 * interval '1 second', ${column}, 'epoch'::timestamptz)`;
  const events = (extra: string) => `
    select ${bin("ts")} as bucket, decision, sum(count) as n from audit_event
     where ${DECIDED_KINDS_SQL} and ts >= $1::timestamptz and ts < $2::timestamptz ${tenantFilter} ${extra}
     group by 1, 2`;
  // Tester traffic is never in the summary: read whole from the events when it is included.
  const parts =
    watermark === null
      ? events(options.includeTester ? "" : `and ${NOT_TESTER_SQL}`)
      : `select ${bin("bucket")} as bucket, decision, sum(count) as n from audit_count
          where all_tenants = ${options.tenant ? "false" : "true"} and tenant = ${options.tenant ? `$${tenantParam}` : "''"}
            and ${DECIDED_KINDS_SQL} and bucket >= $1::timestamptz and bucket < $2::timestamptz
          group by 1, 2
         union all ${events(`and id > $${values.push(watermark)}::bigint and ${NOT_TESTER_SQL}`)}
         ${options.includeTester ? `union all ${events(`and ${TESTER_SQL}`)}` : ""}`;
  const { rows } = await db.query<{ bucket: Date; accepted: number; rejected: number; report_only: number }>(
    `select bucket,
            coalesce(sum(n) filter (where decision = 'accepted'), 0)::int as accepted,
            coalesce(sum(n) filter (where decision = 'rejected'), 0)::int as rejected,
            coalesce(sum(n) filter (where decision = 'report_only'), 0)::int as report_only
       from (${parts}) as counted
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

export interface RejectedOriginCount {
  origin: string;
  tenant: string | null;
  count: number;
  lastSeen: string;
  reasons: string[];
}

interface RejectedTotal {
  origin: string;
  /** '' for events that named no tenant. */
  tenant: string;
  /** Negative for events read only to be taken off a summarized hour. */
  count: string;
  /** Null for those too. */
  last_seen: Date | null;
}

/** Per-hour candidates tried before falling back to aggregating every summarized hour. */
const TOP_CANDIDATES_PER_HOUR = [16, 128, 1024];
/** After an inconclusive step, windows with at most this many summarized rows are aggregated whole. */
const AGGREGATE_WHOLE_ROWS = 50_000;
/** Windows whose summarized part spans at most this many hours are aggregated whole. */
const FEW_HOURS = 3;
const HOUR_MS = 3_600_000;

/**
 * The origins refused most often since `since`, handshakes and HTTP requests alike (folded
 * counts included), exactly; ties by origin, then tenant (byte order).
 *
 * Sources: the summary's hours (audit_rejected_origin, events up to the watermark) from the
 * hour boundary nearest to `since`, corrected with the events between that boundary and
 * `since` (at most half an hour, added or subtracted), plus every event after the watermark.
 *
 * Aggregating every summarized row of a day is still tens of thousands of rows, so the hours
 * are read top-down (the threshold algorithm): each hour's M largest rows, and the M largest
 * of the events read directly, are the candidates; their exact totals are read; the top
 * `limit` are final once the last of them is larger than the sum of each hour's M-th largest
 * count and the events' (M+1)-th — the most any origin outside the candidates can have.
 * Otherwise M grows, and at last every summarized row is aggregated.
 */
export async function topRejectedOrigins(
  db: Queryable,
  options: { tenant?: string; since: Date; limit: number; includeTester?: boolean },
): Promise<RejectedOriginCount[]> {
  return withSummaryWatermark(db, async (q, watermark) => {
    // The summarized hours start at the hour boundary nearest to `since`: the events between the
    // two (at most half an hour) are read from audit_event and added (boundary after `since`) or
    // subtracted (boundary before it: that hour's summary holds them).
    const sinceMs = options.since.getTime();
    const floorHour = Math.floor(sinceMs / HOUR_MS) * HOUR_MS;
    const subtract = sinceMs - floorHour <= HOUR_MS / 2;
    const summaryStart = subtract ? floorHour : Math.ceil(sinceMs / HOUR_MS) * HOUR_MS;
    // Where the events of `since`'s own hour stop being read directly (reasons, below).
    const directUntil = subtract ? floorHour + HOUR_MS : summaryStart;
    const values: unknown[] = [options.since.toISOString(), new Date(summaryStart).toISOString(), watermark];
    // Every branch below reads from here on: one plain bound the planner prunes partitions by
    // (it cannot from the OR of ranges, and planning 40 partitions' indexes was most of the time).
    const earliest = `$${values.push(new Date(Math.min(sinceMs, summaryStart)).toISOString())}::timestamptz`;
    const tenantFilter = options.tenant ? `and tenant = $${values.push(options.tenant)}` : "";
    const before = "ts >= $2::timestamptz and ts < $1::timestamptz and id <= $3::bigint";
    const after = "ts >= $1::timestamptz and ts < $2::timestamptz and id <= $3::bigint";
    // Tester traffic, when included, is never in the summary: all of it since `since`, from the
    // events, in the same statement (one round trip less).
    const subtracted = options.includeTester ? `${NOT_TESTER_SQL} and ${before}` : before;
    const { rows: raw } = await q.query<RawTotal>(
      `select coalesce(${ORIGIN_EXPRESSION}, '(none)') as origin, coalesce(tenant, '') as tenant,
              sum(case when ${subtracted} then -count else count end)::text as count,
              max(coalesce(last_ts, ts)) filter (where not (${subtracted})) as last_seen,
              array_agg(distinct coalesce(reason, '')) filter (where not (${subtracted})) as reasons
         from audit_event
        where decision = 'rejected' and ${DECIDED_KINDS_SQL} ${tenantFilter} and ts >= ${earliest}
          and ((${NOT_TESTER_SQL} and ((${subtract ? before : after}) or (ts >= $1::timestamptz and id > $3::bigint)))
               ${options.includeTester ? `or (${TESTER_SQL} and ts >= $1::timestamptz)` : ""})
        group by 1, 2`,
      values,
    );
    let top: Array<{ key: RejectedTotal; total: bigint }> = [];
    // A few hours are read whole: their rows are few, and their small counts rarely let the
    // threshold decide early.
    const fewHours = Date.now() - summaryStart <= FEW_HOURS * HOUR_MS;
    const steps: Array<number | null> = fewHours ? [null] : [...TOP_CANDIDATES_PER_HOUR, null];
    for (let step = 0; step < steps.length; step++) {
      const perHour = steps[step]!;
      const summarized = await summarizedTotals(
        q,
        new Date(summaryStart).toISOString(),
        options.tenant,
        perHour,
        raw,
        options.limit,
      );
      const candidates = summarized.candidates;
      // The direct counts of the candidates (none when the window was aggregated whole: they are in already).
      const rawOfCandidates = raw.filter((r) => candidates.has(`${r.tenant}\u0000${r.origin}`));
      top = addUp(summarized.rows, rawOfCandidates)
        .filter((t) => t.total > 0n)
        .slice(0, options.limit);
      const boundary = top.at(-1);
      const conclusive =
        summarized.threshold === 0n ||
        (top.length === options.limit && boundary !== undefined && boundary.total > summarized.threshold);
      if (conclusive) break;
      // Few summarized rows in all (a tenant's flat spread over thousands of origins): aggregating
      // them whole is cheaper than the next, larger candidate step.
      if (summarized.rowsInWindow !== null && summarized.rowsInWindow <= AGGREGATE_WHOLE_ROWS) {
        step = steps.length - 2;
      }
    }
    if (top.length === 0) return [];
    // The reasons of the final few: the summary's from the first hour it holds whole after
    // `since`, and the events' before that (and after the watermark).
    const { rows: reasons } = await q.query<{ tenant: string; origin: string; reasons: string[] }>(
      `select c.tenant, c.origin, array(
          select distinct unnest(x.reasons) from audit_rejected_origin x
           where x.tenant = c.tenant and x.origin = c.origin and x.bucket >= $1::timestamptz
          union
          select coalesce(reason, '') from audit_event
           where (${ORIGIN_EXPRESSION} = c.origin or (c.origin = '(none)' and ${ORIGIN_EXPRESSION} is null))
             and coalesce(tenant, '') = c.tenant
             and decision = 'rejected' and ${DECIDED_KINDS_SQL} and ${NOT_TESTER_SQL}
             and ts >= $4::timestamptz and ts < $1::timestamptz and id <= $5::bigint) as reasons
         from unnest($2::text[], $3::text[]) as c(tenant, origin)`,
      [
        new Date(directUntil).toISOString(),
        top.map((t) => t.key.tenant),
        top.map((t) => t.key.origin),
        options.since.toISOString(),
        watermark,
      ],
    );
    const reasonsOf = new Map<string, Set<string>>();
    for (const r of [...reasons, ...raw]) {
      const key = `${r.tenant}\u0000${r.origin}`;
      const set = reasonsOf.get(key) ?? new Set<string>();
      for (const reason of r.reasons ?? []) set.add(reason);
      reasonsOf.set(key, set);
    }
    return top.map(({ key, total }) => ({
      origin: key.origin,
      tenant: key.tenant === "" ? null : key.tenant,
      count: Number(total),
      lastSeen: (key.last_seen as Date).toISOString(),
      reasons: [...(reasonsOf.get(`${key.tenant}\u0000${key.origin}`) ?? [])].sort(),
    }));
  });
}

/**
 * Summarized totals (whole hours from `firstWholeHour`) of the candidates — each summarized
 * hour's `perHour` largest rows and the `perHour` largest `raw` keys — and the threshold: the
 * sum of each hour's perHour-th largest count and the largest raw count left out; and the
 * candidates' keys. When perHour is null, every key is aggregated in Postgres, `raw` added
 * there too, and only the keys that can be among the `limit` largest come back (those at or
 * above the limit-th total, ties included: the caller orders them), with threshold 0 and no
 * candidates (their raw counts are in already): tens of thousands of summarized rows were
 * most of the time when they were all sent back to be added up here.
 */
async function summarizedTotals(
  q: Queryable,
  firstWholeHour: string,
  tenant: string | undefined,
  perHour: number | null,
  raw: RejectedTotal[],
  limit: number,
): Promise<{
  rows: RejectedTotal[];
  threshold: bigint;
  candidates: Set<string>;
  rowsInWindow: number | null;
}> {
  const values: unknown[] = [firstWholeHour];
  const tenantFilter = tenant ? `and tenant = $${values.push(tenant)}` : "";
  if (perHour === null) {
    const origins = `$${values.push(raw.map((r) => r.origin))}::text[]`;
    const tenants = `$${values.push(raw.map((r) => r.tenant))}::text[]`;
    const counts = `$${values.push(raw.map((r) => r.count))}::bigint[]`;
    const lastSeen = `$${values.push(raw.map((r) => r.last_seen))}::timestamptz[]`;
    const { rows } = await q.query<RejectedTotal>(
      `with totals as (
         select origin, tenant, sum(count) as total, max(last_seen) as last_seen from (
           select origin, tenant, count, last_seen from audit_rejected_origin
            where bucket >= $1::timestamptz ${tenantFilter}
           union all
           select * from unnest(${origins}, ${tenants}, ${counts}, ${lastSeen}) as r(origin, tenant, count, last_seen)
         ) as parts
         group by 1, 2 having sum(count) > 0
       )
       select origin, tenant, total::text as count, last_seen from totals
        where total >= coalesce((select total from totals order by total desc
                                  offset $${values.push(limit - 1)}::int limit 1), 0)`,
      values,
    );
    return { rows, threshold: 0n, candidates: new Set(), rowsInWindow: null };
  }
  const perHourParam = `$${values.push(perHour)}`;
  // The events read directly: their `perHour` largest keys join the candidates; any other key
  // has at most the largest count left out on top of the threshold.
  const rawByCount = [...raw].sort((a, b) => Number(BigInt(b.count) - BigInt(a.count)));
  const rawTop = rawByCount.slice(0, perHour);
  const rawTenants = `$${values.push(rawTop.map((r) => r.tenant))}::text[]`;
  const rawOrigins = `$${values.push(rawTop.map((r) => r.origin))}::text[]`;
  // One statement: the summarized hours (a skip scan of the index), each one's largest rows,
  // and the candidates' totals (one index range per candidate: the key is (tenant, origin,
  // bucket)); its last row (origin null) is the sum of each full hour's perHour-th count.
  const { rows } = await q.query<RejectedTotal & { threshold: string | null }>(
    `with recursive hours as (
       (select bucket from audit_rejected_origin where bucket >= $1::timestamptz ${tenantFilter} order by bucket limit 1)
       union all
       select (select bucket from audit_rejected_origin where bucket > h.bucket ${tenantFilter} order by bucket limit 1)
         from hours h where h.bucket is not null
     ), tops as materialized (
       select t.origin, t.tenant, t.count, t.rank = ${perHourParam} as is_full
         from hours h,
              lateral (select origin, tenant, count, row_number() over (order by count desc) as rank
                         from audit_rejected_origin where bucket = h.bucket ${tenantFilter}
                        order by count desc limit ${perHourParam}) as t
        where h.bucket is not null
     ), candidates as (
       select tenant, origin from tops
       union
       select * from unnest(${rawTenants}, ${rawOrigins}) as r(tenant, origin)
     )
     select c.origin, c.tenant, t.count, t.last_seen, null::text as threshold
       from candidates c,
            lateral (select sum(s.count)::text as count, max(s.last_seen) as last_seen from audit_rejected_origin s
                      where s.tenant = c.tenant and s.origin = c.origin and s.bucket >= $1::timestamptz) as t
      where t.count is not null
     union all
     select null, null, null, null, coalesce(sum(count) filter (where is_full), 0)::text || ' '
            || (select count(*) from audit_rejected_origin where bucket >= $1::timestamptz ${tenantFilter}) from tops`,
    values,
  );
  const totals = rows.filter((r) => r.threshold === null);
  // The last row: the threshold's sum and how many summarized rows the window has in all.
  const [sum, inWindow] = (rows.find((r) => r.threshold !== null)?.threshold ?? "0 0").split(" ");
  let threshold = BigInt(sum ?? "0");
  const rawLeftOut = rawByCount[perHour];
  if (rawLeftOut && BigInt(rawLeftOut.count) > 0n) threshold += BigInt(rawLeftOut.count);
  // Every key of the summarized hours' tops has a total; the raw keys are candidates with or without one.
  const candidates = new Set([...totals, ...rawTop].map((r) => `${r.tenant}\u0000${r.origin}`));
  return {
    rows: totals.map(({ threshold: _t, ...r }) => r),
    threshold,
    candidates,
    rowsInWindow: Number(inWindow ?? "0"),
  };
}

type RawTotal = RejectedTotal & { reasons: string[] | null };

/** Summarized and direct totals added up per (tenant, origin), largest first, ties by origin then tenant. */
function addUp(summarized: RejectedTotal[], raw: RejectedTotal[]): Array<{ key: RejectedTotal; total: bigint }> {
  const byKey = new Map<string, { key: RejectedTotal; total: bigint }>();
  for (const r of [...summarized, ...raw]) {
    const id = `${r.tenant}\u0000${r.origin}`;
    const entry = byKey.get(id);
    if (!entry) {
      byKey.set(id, { key: { ...r }, total: BigInt(r.count) });
      continue;
    }
    entry.total += BigInt(r.count);
    if (r.last_seen !== null && (entry.key.last_seen === null || r.last_seen > entry.key.last_seen)) {
      entry.key.last_seen = r.last_seen;
    }
  }
  const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...byKey.values()].sort(
    (a, b) =>
      (a.total === b.total ? 0 : b.total > a.total ? 1 : -1) ||
      byteOrder(a.key.origin, b.key.origin) ||
      byteOrder(a.key.tenant, b.key.tenant),
  );
}
