/**
 * The audit explorer's fields: one entry per filterable event property, from which the query
 * parameters (and their validation), the SQL of the filter, the facet counts and the dashboard's
 * filter list are all derived. Adding a filter is one entry here (the shadow decision and
 * version of a staged policy, SPEC §5.2, were added that way).
 *
 * `match` says how the parameter compares: `exact` (= value), `contains` (case-insensitive
 * substring), `prefix` (starts with, case-sensitive). `facet` fields get value counts beside
 * them (server/db/audit-explore.ts). The origin has its own filters (exact, substring, prefix,
 * served by audit_origin's trigram index: audit-queries.ts), and so has time (`range`, `since`,
 * `until`).
 *
 * Browser-safe: no I/O, zod only (the dashboard imports the list for its filter panel).
 */
import { z } from "zod";
import { AUDIT_KINDS, AUDIT_VIAS } from "../audit/types";

export const AUDIT_DECISIONS = ["accepted", "rejected", "report_only"] as const;

export interface AuditFieldSpec {
  /** Query parameter, URL parameter and property of the event (camelCase). */
  param: string;
  /** The column (or expression) compared. */
  sql: string;
  /** Postgres enum type of the column, when it is one. */
  cast?: string;
  match: "exact" | "contains" | "prefix";
  /** Value counts beside the filter. */
  facet: boolean;
  schema: z.ZodType<string>;
  /** As the dashboard names it. */
  label: string;
  /** The values to choose from (enums); free text otherwise. */
  options?: readonly string[];
}

export const AUDIT_FIELDS = [
  { param: "tenant", sql: "tenant", match: "exact", facet: true, schema: z.string().min(1).max(63), label: "Tenant" },
  {
    param: "decision",
    sql: "decision",
    cast: "audit_decision",
    match: "exact",
    facet: true,
    schema: z.enum(AUDIT_DECISIONS),
    label: "Decision",
    options: AUDIT_DECISIONS,
  },
  {
    param: "reason",
    sql: "reason",
    match: "exact",
    facet: true,
    schema: z.string().regex(/^[a-z_]{1,40}$/, "must be a reason code"),
    label: "Reason",
  },
  {
    param: "kind",
    sql: "kind",
    cast: "audit_kind",
    match: "exact",
    facet: true,
    schema: z.enum(AUDIT_KINDS),
    label: "Kind",
    options: AUDIT_KINDS,
  },
  {
    /** How the request came: `gateway` or `forward_auth`. */
    param: "via",
    sql: "via",
    cast: "audit_via",
    match: "exact",
    facet: true,
    schema: z.enum(AUDIT_VIAS),
    label: "Via",
    options: AUDIT_VIAS,
  },
  {
    /** The client address as the gateway recorded it (after its TRUST_PROXY rule). */
    param: "remoteAddr",
    sql: "remote_addr",
    match: "exact",
    facet: true,
    schema: z
      .string()
      .max(64)
      .regex(/^[0-9A-Fa-f:.]{2,64}$/, "must be an IPv4 or IPv6 address"),
    label: "Client address",
  },
  {
    /** Case-insensitive substring of the User-Agent header (`curl`, `python-requests`). */
    param: "userAgent",
    sql: "user_agent",
    match: "contains",
    facet: true,
    schema: z.string().min(2, "must be at least 2 characters").max(256),
    label: "User agent",
  },
  {
    /** Request paths starting with this (`/t/payments/`). */
    param: "path",
    sql: "path",
    match: "prefix",
    facet: true,
    schema: z.string().max(512).regex(/^\//, "must start with /"),
    label: "Path",
  },
  {
    /** Events on which a staged (shadow or canary) version decided otherwise (SPEC §5.2). */
    param: "shadowDecision",
    sql: "shadow_decision",
    cast: "audit_decision",
    match: "exact",
    facet: true,
    schema: z.enum(AUDIT_DECISIONS),
    label: "Shadow decision",
    options: AUDIT_DECISIONS,
  },
  {
    /** Events a shadow decision of this staged version is recorded on. */
    param: "shadowVersion",
    sql: "shadow_version",
    cast: "integer",
    match: "exact",
    facet: false,
    schema: z.string().regex(/^[1-9][0-9]{0,8}$/, "must be a policy version"),
    label: "Shadow version",
  },
] as const satisfies readonly AuditFieldSpec[];

export type AuditFieldParam = (typeof AUDIT_FIELDS)[number]["param"];

type FieldShape = {
  [F in (typeof AUDIT_FIELDS)[number] as F["param"]]: z.ZodOptional<F["schema"]>;
};

/** The fields' query parameters as a zod shape (each optional). */
export const auditFieldShape = Object.fromEntries(
  AUDIT_FIELDS.map((f) => [f.param, (f.schema as z.ZodType<string>).optional()]),
) as unknown as FieldShape;

/** Relative time ranges ("last 15 minutes" … "last 30 days"): `range=` of the API and the page. */
export const AUDIT_RANGES = {
  "15m": { ms: 15 * 60_000, label: "Last 15 minutes" },
  "1h": { ms: 3_600_000, label: "Last hour" },
  "4h": { ms: 4 * 3_600_000, label: "Last 4 hours" },
  "24h": { ms: 86_400_000, label: "Last 24 hours" },
  "7d": { ms: 7 * 86_400_000, label: "Last 7 days" },
  "30d": { ms: 30 * 86_400_000, label: "Last 30 days" },
} as const;
export type AuditRange = keyof typeof AUDIT_RANGES;
export const AUDIT_RANGE_KEYS = Object.keys(AUDIT_RANGES) as [AuditRange, ...AuditRange[]];

/**
 * Sortable columns: the SQL each sorts by and the cursor value's type. Each is the expression
 * an index of audit_event starts with, so every page reads only its rows, at any depth and over
 * any window (server/db/audit-queries.ts: sortRuns). Events without a value (no tenant, no
 * origin…) come last in either direction; ties by time, then id.
 */
export const AUDIT_SORTS = {
  ts: { sql: null, type: null },
  count: { sql: "count", type: "int" },
  tenant: { sql: "tenant", type: "text" },
  reason: { sql: "reason", type: "text" },
  origin: { sql: "coalesce(origin_normalized, origin)", type: "text" },
  remoteAddr: { sql: "remote_addr", type: "text" },
} as const;
export type AuditSortColumn = keyof typeof AUDIT_SORTS;
export const AUDIT_SORT_VALUES = Object.keys(AUDIT_SORTS).flatMap((c) => [c, `-${c}`]) as [string, ...string[]];

/** `-ts` → { column: "ts", descending: true }. */
export function parseAuditSort(sort: string | undefined): { column: AuditSortColumn; descending: boolean } {
  const value = sort ?? "-ts";
  const descending = value.startsWith("-");
  return { column: (descending ? value.slice(1) : value) as AuditSortColumn, descending };
}
