/**
 * The tester's polish: scan results grouped by allowlist entry, and the cookie preset built
 * on the tenant's own allowed origin (so the credential policy, not the allowlist, decides).
 */
import { describe, expect, it } from "vitest";
import { groupScanResults } from "../../app/(console)/tester/scan-groups";
import { EMPTY_FORM, PRESETS, sampleAllowedOrigin } from "../../app/(console)/tester/tester-client";
import type { ScanResult } from "../../server/tester/types";

const result = (origin: string | null, patterns: string[], finding = false) =>
  ({ origin, patterns, finding, variant: "v", expected: "refuse", observed: "refused" }) as unknown as ScanResult;

describe("groupScanResults", () => {
  it("groups by the first pattern, in allowlist order, with the untied variants last", () => {
    const groups = groupScanResults(
      [
        result(null, []),
        result("https://x.partner.example.org.evil.net", ["https://*.partner.example.org"], true),
        result("http://app.example.com", ["https://app.example.com"]),
        result("https://evilapp.example.com", ["https://app.example.com", "https://*.partner.example.org"], true),
        result("null", []),
        result("https://gone.example.com.evil.net", ["https://gone.example.com"]),
      ],
      ["https://app.example.com", "https://*.partner.example.org"],
    );
    expect(groups.map((g) => [g.pattern, g.results.length, g.findings])).toEqual([
      ["https://app.example.com", 2, 1],
      ["https://*.partner.example.org", 1, 1],
      ["https://gone.example.com", 1, 0],
      [null, 2, 0],
    ]);
  });

  it("is empty for no results", () => {
    expect(groupScanResults([], ["https://a.example.com"])).toEqual([]);
  });
});

describe("the cookie preset", () => {
  const cookie = PRESETS.find((p) => p.id === "cookie")!;
  it("sends a cookie from the tenant's own allowed origin", () => {
    const allowedOrigin = sampleAllowedOrigin(["https://*.own.example.com"]);
    const form = cookie.apply(EMPTY_FORM, { allowedOrigin, subprotocol: null });
    expect(form).toMatchObject({ originMode: "value", origin: "https://app.own.example.com" });
    expect(form.cookie).not.toBe("");
  });
});
