/**
 * The audit explorer's aggregates for the API and the page: facet counts
 * (`GET /api/v1/audit/facets`) and the histogram split by reason (`GET /api/v1/audit/histogram`),
 * both over the history's filters (validated here: a bad value is a ZodError → 422).
 */
import "server-only";
import { type AuditFacets, type AuditHistogram, auditFacets, auditHistogram } from "@/server/db/audit-explore";
import type { Queryable } from "@/server/db/audit-queries";
import { auditExploreQuery } from "./audit-filter-input";

export type { AuditFacets, AuditHistogram };

export async function getAuditFacets(options: {
  db: Queryable;
  query: unknown;
  /** A tenant-scoped API token's tenant: its filter stays on every facet's count (no other tenant shows). */
  scopedTenant?: string | null;
}): Promise<AuditFacets> {
  return auditFacets(options.db, auditExploreQuery.parse(options.query), {
    fixed: options.scopedTenant ? ["tenant"] : [],
  });
}

export async function getAuditHistogram(options: {
  db: Queryable;
  query: unknown;
  now?: Date;
}): Promise<AuditHistogram> {
  return auditHistogram(options.db, auditExploreQuery.parse(options.query), options.now);
}
