/**
 * CSV for audit exports (RFC 4180: CRLF line ends, fields with a quote, comma or line break
 * quoted with doubled quotes). Every value that came from a client (Origin, User-Agent,
 * path, ...) is attacker-controlled, so a text cell starting with `=`, `+`, `-`, `@`, tab or
 * carriage return — which a spreadsheet would run as a formula — gets a leading `'`
 * (OWASP "CSV injection"). Numbers are written as numbers. Browser-safe (no imports).
 */
import type { AuditEvent } from "../../../server/db/audit-queries";

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

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}

export function auditCsvHeader(): string {
  return csvLine(AUDIT_CSV_COLUMNS);
}

export function auditCsvRow(event: AuditEvent): string {
  return csvLine(AUDIT_CSV_COLUMNS.map((column) => event[column]));
}
