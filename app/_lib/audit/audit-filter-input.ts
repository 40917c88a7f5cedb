/**
 * Query strings of the audit API, validated at the boundary with the gateway's own filter
 * schema (server/db/audit-queries.ts `auditFilterSchema`): a bad value is a ZodError, which
 * the API answers with 422 and `details: [{ path, message }]`.
 *
 * Empty parameters (`?tenant=&decision=`) mean "no filter", as a browser form sends them.
 */
import "server-only";
import { z } from "zod";
import { auditFilterSchema } from "../../../server/db/audit-queries";

export type AuditFilterValues = z.output<typeof auditFilterSchema>;

/** The query string as an object, empty values dropped. */
export function auditQueryObject(request: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URL(request.url).searchParams) {
    if (value.trim() !== "") out[key] = value.trim();
  }
  return out;
}

const sinceBeforeUntil = (f: { since?: string; until?: string }, ctx: z.RefinementCtx) => {
  if (f.since && f.until && Date.parse(f.since) >= Date.parse(f.until)) {
    ctx.addIssue({ code: "custom", path: ["until"], message: "must be later than since" });
  }
};

/** `GET /api/v1/audit` filters: tenant, decision, reason, kind, origin, since, until, cursor, limit. */
export const auditSearchQuery = auditFilterSchema.superRefine(sinceBeforeUntil);

/**
 * `GET /api/v1/audit/export`: the same filters and a format; no limit (the whole result, up
 * to the export cap). `cursor` continues a truncated export.
 */
export const auditExportQuery = auditFilterSchema
  .omit({ limit: true })
  .extend({ format: z.enum(["csv", "ndjson"]) })
  .strict()
  .superRefine(sinceBeforeUntil);

export type AuditExportFilter = Omit<z.output<typeof auditExportQuery>, "format">;

/**
 * `GET /api/v1/audit/stats`: tenant and window (last hour, in 1-minute buckets, or last day, in
 * 30-minute ones); the tester's own handshakes are left out unless `tester=include`.
 */
export const auditStatsQuery = z
  .object({
    tenant: z.string().min(1).max(63).optional(),
    window: z.enum(["hour", "day"]).default("hour"),
    tester: z.enum(["exclude", "include"]).default("exclude"),
  })
  .strict();

export type AuditWindow = z.output<typeof auditStatsQuery>["window"];
