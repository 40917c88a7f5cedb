/**
 * Query strings of the audit API, validated at the boundary with the gateway's own filter
 * schema (server/db/audit-queries.ts `auditFilterSchema`): a bad value is a ZodError, which
 * the API answers with 422 and `details: [{ path, message }]`.
 *
 * Empty parameters (`?tenant=&decision=`) mean "no filter", as a browser form sends them.
 */
import "server-only";
import { z } from "zod";
import { auditFilterObject, auditFilterSchema, refineAuditFilter } from "@/server/db/audit-queries";

export type AuditFilterValues = z.output<typeof auditFilterSchema>;

/** The query string as an object, empty values dropped. */
export function auditQueryObject(request: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URL(request.url).searchParams) {
    if (value.trim() !== "") out[key] = value.trim();
  }
  return out;
}

/** `GET /api/v1/audit` filters: the fields of server/db/audit-fields.ts, origin, range/since/until, sort, cursor, limit. */
export const auditSearchQuery = auditFilterSchema;

/**
 * `GET /api/v1/audit/export`: the same filters and a format; no limit (the whole result, up
 * to the export cap) and no sort (exports are newest first, as the history). `cursor` continues a truncated export.
 */
export const auditExportQuery = auditFilterObject
  .omit({ limit: true, sort: true })
  .extend({ format: z.enum(["csv", "ndjson"]) })
  .strict()
  .superRefine(refineAuditFilter);

export type AuditExportFilter = Omit<z.output<typeof auditExportQuery>, "format">;

/** `GET /api/v1/audit/facets` and `/histogram`: the history's filters without paging. */
export const auditExploreQuery = auditFilterObject
  .omit({ limit: true, sort: true, cursor: true, beforeId: true })
  .strict()
  .superRefine(refineAuditFilter);

export type AuditExploreFilter = z.output<typeof auditExploreQuery>;

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

/** `POST /api/v1/audit/views`: a saved view's name and the /audit query it stands for. */
export const savedViewInput = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(80),
    /** The /audit query string (`range=24h&decision=rejected`), with or without a leading `?`. */
    query: z.string().max(4000),
  })
  .strict();

/** `GET /api/v1/audit/shadow`: shadow versus active per origin for one tenant (and staged version). */
export const shadowSummaryQuery = z
  .object({
    tenant: z.string().min(1).max(63),
    version: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
