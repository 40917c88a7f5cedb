/**
 * The scan matrix as CSV (one row per variant, RFC 4180 quoting). Origins are
 * attacker-chosen text, so cells that a spreadsheet would run as a formula (= + - @ tab CR
 * at the start) are prefixed with an apostrophe. Pure, browser-safe.
 */
import type { ScanResponse, ScanResult } from "../../../server/tester/types";

export const CSV_COLUMNS = [
  "variant",
  "origin",
  "expected",
  "expectedReason",
  "observed",
  "status",
  "reason",
  "closeCode",
  "detail",
  "finding",
  "patterns",
] as const;

function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value);
  // Spreadsheet formula injection: an origin is attacker-chosen text.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function scanToCsv(scan: ScanResponse): string {
  const rows = scan.results.map((r: ScanResult) =>
    CSV_COLUMNS.map((column) =>
      csvCell(column === "origin" && r.origin === null ? "(no Origin header)" : r[column]),
    ).join(","),
  );
  return `${[CSV_COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}
