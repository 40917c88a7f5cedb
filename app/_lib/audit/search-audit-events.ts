/**
 * History search (`GET /api/v1/audit`): one keyset page of events, newest first, with the
 * gateway's own query. `nextCursor` goes back as `cursor` for the next (older) page; pages
 * never overlap and never skip a row, however many events arrive meanwhile.
 */
import "server-only";
import { type AuditEvent, type Queryable, searchAudit } from "@/server/db/audit-queries";
import { auditSearchQuery } from "./audit-filter-input";

export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

export async function searchAuditEvents(options: { db: Queryable; query: unknown }): Promise<AuditPage> {
  const filter = auditSearchQuery.parse(options.query);
  return searchAudit(options.db, filter);
}
