/**
 * The allowlist editor's pure helpers: the one-field expiry control's parser, the table's
 * order (the server's, before and after a save), and the tab list's arrow keys.
 */
import { describe, expect, it } from "vitest";
import { nextTab } from "../../app/_components/tab-keys";
import { orderAllowlist } from "../../app/(console)/tenants/[slug]/allowlist-order";
import { formatExpiryText, parseExpiryText } from "../../app/(console)/tenants/[slug]/parse-expiry-text";

describe("parseExpiryText", () => {
  const now = new Date(2026, 5, 15, 12, 0); // local time, as the field reads it

  it.each([
    ["", null],
    ["  never ", null],
    ["NEVER", null],
  ])("%j means no expiry", (text, iso) => {
    expect(parseExpiryText(text, now)).toEqual({ ok: true, iso });
  });

  it.each([
    ["30m", 30 * 60_000],
    ["12h", 12 * 3_600_000],
    ["7d", 7 * 86_400_000],
    ["in 2w", 14 * 86_400_000],
    ["+1d", 86_400_000],
    ["90 min", 90 * 60_000],
  ])("%j is that long from now", (text, ms) => {
    expect(parseExpiryText(text, now)).toEqual({ ok: true, iso: new Date(now.getTime() + ms).toISOString() });
  });

  it("reads local dates and times; a date alone is the end of that day", () => {
    expect(parseExpiryText("2026-12-31", now)).toEqual({ ok: true, iso: new Date(2026, 11, 31, 23, 59).toISOString() });
    expect(parseExpiryText("2026-12-31 18:05", now)).toEqual({
      ok: true,
      iso: new Date(2026, 11, 31, 18, 5).toISOString(),
    });
    expect(parseExpiryText("2026-12-31T08:00", now)).toEqual({
      ok: true,
      iso: new Date(2026, 11, 31, 8, 0).toISOString(),
    });
    expect(parseExpiryText("2026-12-31T18:00:00Z", now)).toEqual({ ok: true, iso: "2026-12-31T18:00:00.000Z" });
  });

  it.each(["tomorrow", "7", "0d", "2026-02-31", "2026-12-31 25:00", "31/12/2026", "99999w"])(
    "refuses %j with a message",
    (text) => {
      const parsed = parseExpiryText(text, now);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message.length).toBeGreaterThan(0);
    },
  );

  it("formats what it parses back to the same minute", () => {
    for (const text of ["2026-12-31 18:05", "2027-01-01 00:00"]) {
      const parsed = parseExpiryText(text, now);
      expect(parsed.ok && formatExpiryText(parsed.iso)).toBe(text);
    }
    expect(formatExpiryText(null)).toBe("");
  });
});

describe("orderAllowlist", () => {
  const entry = (pattern: string) => ({ pattern, note: null, expiresAt: null });
  const base = ["https://z.example.com", "https://a.example.com"].map(entry);

  it("added order: saved entries as the server orders them, then unsaved ones by pattern", () => {
    const draft = [...base, entry("https://y.example.com"), entry("https://b.example.com")];
    const shown = (order: Parameters<typeof orderAllowlist>[2]) =>
      orderAllowlist(draft, base, order).map((i) => draft[i]!.pattern);
    expect(shown("added")).toEqual([
      "https://z.example.com",
      "https://a.example.com",
      "https://b.example.com",
      "https://y.example.com",
    ]);
    expect(shown("added-desc")).toEqual([...shown("added")].reverse());
    expect(shown("pattern")).toEqual([
      "https://a.example.com",
      "https://b.example.com",
      "https://y.example.com",
      "https://z.example.com",
    ]);
    expect(shown("pattern-desc")).toEqual([...shown("pattern")].reverse());
  });

  it("is the same after a save, whose response lists the new entries (one created_at) by pattern", () => {
    const draft = [...base, entry("https://y.example.com"), entry("https://b.example.com")];
    const saved = [...base, entry("https://b.example.com"), entry("https://y.example.com")];
    const before = orderAllowlist(draft, base, "added").map((i) => draft[i]!.pattern);
    const after = orderAllowlist(saved, saved, "added").map((i) => saved[i]!.pattern);
    expect(after).toEqual(before);
  });
});

describe("nextTab", () => {
  const ids = ["a", "b", "c"] as const;
  it.each([
    ["ArrowRight", "a", "b"],
    ["ArrowRight", "c", "a"],
    ["ArrowLeft", "a", "c"],
    ["ArrowLeft", "b", "a"],
    ["Home", "c", "a"],
    ["End", "a", "c"],
    ["ArrowDown", "a", null],
    ["Enter", "b", null],
  ] as const)("%s from %s goes to %s", (key, from, to) => {
    expect(nextTab(key, ids, from)).toBe(to);
  });
});
