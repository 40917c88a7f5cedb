/**
 * The allowlist editor's bulk paste parser: what each line becomes, and what is left in
 * the box for correction.
 */
import { describe, expect, it } from "vitest";
import { parseBulkPaste } from "../../app/(console)/tenants/[slug]/parse-bulk-paste";

describe("parseBulkPaste", () => {
  it("adds, normalises, skips comments and blank lines, and reports each line", () => {
    const { entries, results, refusedText } = parseBulkPaste(
      [
        "# our apps",
        "https://app.example.com   main app",
        "",
        "HTTPS://Admin.Example.com:443",
        "  http://localhost:*  ",
      ].join("\n"),
      new Set(),
    );
    expect(entries).toEqual([
      { pattern: "https://app.example.com", note: "main app", expiresAt: null },
      { pattern: "https://admin.example.com", note: null, expiresAt: null },
      { pattern: "http://localhost:*", note: null, expiresAt: null },
    ]);
    expect(results.map((r) => [r.line, r.status])).toEqual([
      [2, "added"],
      [4, "normalized"],
      [5, "added"],
    ]);
    expect(results[1]!.message).toBe("added, normalised to https://admin.example.com");
    expect(refusedText).toBe("");
  });

  it("reports duplicates of the list and of earlier lines, after normalisation", () => {
    const { entries, results } = parseBulkPaste(
      "https://a.example.com\nhttps://B.example.com\nhttps://b.example.com:443",
      new Set(["https://a.example.com"]),
    );
    expect(entries.map((e) => e.pattern)).toEqual(["https://b.example.com"]);
    expect(results.map((r) => r.status)).toEqual(["duplicate", "normalized", "duplicate"]);
    expect(results[0]!.message).toBe("https://a.example.com is already in the list");
  });

  it("refuses what the gateway's parser refuses, and keeps those lines (with their notes and reasons) for correction", () => {
    const { entries, results, refusedText } = parseBulkPaste(
      "https://*.com  too broad\nhttps://ok.example.com\nexample.com/path keep me\r\n",
      new Set(),
    );
    expect(entries.map((e) => e.pattern)).toEqual(["https://ok.example.com"]);
    expect(results.filter((r) => r.status === "refused").map((r) => r.line)).toEqual([1, 3]);
    expect(results[0]!.message).toMatch(/public suffix/);
    const reasons = results.filter((r) => r.status === "refused").map((r) => r.message);
    expect(refusedText).toBe(
      [
        `# refused: ${reasons[0]}`,
        "https://*.com  too broad",
        `# refused: ${reasons[1]}`,
        "example.com/path keep me",
      ].join("\n"),
    );
  });

  it("a second run over what was left skips the reasons and reads the corrected lines", () => {
    const first = parseBulkPaste("https://*.com  too broad", new Set());
    const corrected = first.refusedText.replace("https://*.com", "https://*.example.com");
    const second = parseBulkPaste(corrected, new Set());
    expect(second.entries).toEqual([{ pattern: "https://*.example.com", note: "too broad", expiresAt: null }]);
    expect(second.refusedText).toBe("");
  });
});
