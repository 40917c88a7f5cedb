/**
 * The scan matrix grouped by allowlist entry (unit-tested in tests/unit/tester-polish.test.ts):
 * each variant under the entry it was derived from (its first pattern; a variant several
 * entries produce names the others), entries in the allowlist's order (any it no longer has,
 * as the scan met them, after), and the variants tied to no entry (no Origin, `null`,
 * unrelated sites) last.
 */
import type { ScanResult } from "@/server/tester/types";

export interface ScanGroup {
  /** The allowlist entry, or null for the variants tied to none. */
  pattern: string | null;
  results: ScanResult[];
  findings: number;
}

export function groupScanResults(results: readonly ScanResult[], allowlist: readonly string[] = []): ScanGroup[] {
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
  const rank = new Map(allowlist.map((pattern, i) => [pattern, i]));
  const place = (group: ScanGroup) => rank.get(group.pattern ?? "") ?? Number.MAX_SAFE_INTEGER;
  // Array sort is stable: groups the allowlist does not name keep the order the scan met them.
  const ordered = [...groups.values()].sort((a, b) => place(a) - place(b));
  return untied ? [...ordered, untied] : ordered;
}
