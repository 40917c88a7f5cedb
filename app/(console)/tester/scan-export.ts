/**
 * The scan matrix as CSV, one row per variant, written by the product's one CSV writer
 * (app/_lib/export/csv.ts: origins are attacker-chosen text, so formula cells are defused
 * and separators of every locale quoted). Pure, browser-safe.
 */

import { csvLine } from "@/app/_lib/export/csv";
import type { ScanResponse, ScanResult } from "@/server/tester/types";

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

export function scanToCsv(scan: ScanResponse): string {
  const rows = scan.results.map((r: ScanResult) =>
    csvLine(CSV_COLUMNS.map((column) => (column === "origin" && r.origin === null ? "(no Origin header)" : r[column]))),
  );
  return [csvLine(CSV_COLUMNS), ...rows].join("");
}
