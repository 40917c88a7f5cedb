/**
 * parseBulkPaste: the allowlist editor's bulk paste, as a pure function (unit-tested in
 * tests/unit/bulk-paste.test.ts). One pattern per line; text after the pattern (separated
 * by whitespace) becomes its note; blank lines and lines starting with `#` are skipped.
 * Each line is checked with the gateway's own pattern parser and reported as added,
 * normalised, duplicate (of the list or of an earlier line) or refused. The refused lines
 * are returned as text, each under a `# refused: <reason>` comment line, so the editor can
 * leave them in the box for correction with the reason beside each (a second run skips the
 * comments like any other).
 */
import { type PolicyOriginEntry, parsePattern } from "@/server/policy/browser";

export interface BulkLineResult {
  /** 1-based line number in the pasted text. */
  line: number;
  input: string;
  status: "added" | "normalized" | "duplicate" | "refused";
  message: string;
}

export interface BulkPasteResult {
  entries: PolicyOriginEntry[];
  results: BulkLineResult[];
  /**
   * What is left to fix: each refused line as pasted (note included), under a comment line
   * giving the parser's reason.
   */
  refusedText: string;
}

/** Starts the comment line that explains a refused line left in the box. */
export const REFUSED_PREFIX = "# refused: ";

export function parseBulkPaste(text: string, existing: ReadonlySet<string>): BulkPasteResult {
  const seen = new Set(existing);
  const entries: PolicyOriginEntry[] = [];
  const results: BulkLineResult[] = [];
  const refused: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const space = line.search(/\s/);
    const patternText = space < 0 ? line : line.slice(0, space);
    const note = space < 0 ? null : line.slice(space).trim() || null;
    const parsed = parsePattern(patternText);
    if (!parsed.ok) {
      results.push({ line: i + 1, input: patternText, status: "refused", message: parsed.message });
      refused.push(`${REFUSED_PREFIX}${parsed.message.replace(/\s+/g, " ")}`, line);
      return;
    }
    const normalized = parsed.value.pattern;
    if (seen.has(normalized)) {
      results.push({
        line: i + 1,
        input: patternText,
        status: "duplicate",
        message: `${normalized} is already in the list`,
      });
      return;
    }
    seen.add(normalized);
    entries.push({ pattern: normalized, note, expiresAt: null });
    results.push(
      normalized === patternText
        ? { line: i + 1, input: patternText, status: "added", message: "added" }
        : { line: i + 1, input: patternText, status: "normalized", message: `added, normalised to ${normalized}` },
    );
  });
  return { entries, results, refusedText: refused.join("\n") };
}
