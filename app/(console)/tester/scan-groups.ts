/**
 * The scan matrix grouped by allowlist entry (unit-tested in tests/unit/tester-polish.test.ts):
 * each variant under the entry it was derived from (its first pattern; a variant several
 * entries produce names the others), entries in the order the scan met them (the allowlist's
 * order), and the variants tied to no entry (no Origin, `null`, unrelated sites) last.
 */
import type { ScanResult } from "@/server/tester/types";

export interface ScanGroup {
  /** The allowlist entry, or null for the variants tied to none. */
  pattern: string | null;
  results: ScanResult[];
  findings: number;
}

export function groupScanResults(results: readonly ScanResult[]): ScanGroup[] {
  const groups = new Map<string | null, ScanGroup>();
  for (const result of results) {
    const pattern = result.patterns[0] ?? null;
    let group = groups.get(pattern);
    if (!group) {
      group = { pattern, results: [], findings: 0 };
      groups.set(pattern, group);
    }
    group.results.push(result);
    if (result.finding) group.findings++;
  }
  const untied = groups.get(null);
  groups.delete(null);
  return untied ? [...groups.values(), untied] : [...groups.values()];
}
