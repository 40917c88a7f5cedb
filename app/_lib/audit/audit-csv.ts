/**
 * CSV for audit exports: one column per event field (`details` as JSON), written by the
 * product's one CSV writer (app/_lib/export/csv.ts: RFC 4180, quoting of `,` `;` tab, quotes
 * and line breaks, formula cells defused). Browser-safe.
 */

import { csvLine } from "@/app/_lib/export/csv";
import type { AuditEvent } from "@/server/db/audit-queries";

export const AUDIT_CSV_COLUMNS = [
  "id",
  "ts",
  "lastTs",
  "gatewayId",
  "kind",
  "via",
  "tenant",
  "decision",
  "reason",
  "origin",
  "originNormalized",
  "remoteAddr",
  "userAgent",
  "path",
  "subprotocol",
  "policyVersion",
  "matchedPattern",
  "count",
  "closeCode",
  "durationMs",
  "details",
] as const satisfies ReadonlyArray<keyof AuditEvent>;

export function auditCsvHeader(): string {
  return csvLine(AUDIT_CSV_COLUMNS);
}

export function auditCsvRow(event: AuditEvent): string {
  return csvLine(AUDIT_CSV_COLUMNS.map((column) => event[column]));
}
