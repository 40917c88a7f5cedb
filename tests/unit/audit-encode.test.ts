/**
 * The audit pipeline's COPY text encoding (server/audit/pipeline.ts): what reaches Postgres
 * must be exactly what was recorded — timestamps, escaping, nulls, and one field per column.
 * (tests/integration/audit.test.ts checks the same round trip through a real Postgres.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COPY_COLUMNS, copyText, copyTime, encodeRow } from "../../server/audit/copy-row";
import type { AuditEventInput } from "../../server/audit/types";

describe("copyTime", () => {
  it("formats like Date#toISOString for any time, in any order (its per-second cache never leaks)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 253_402_300_799_999 }), { minLength: 1, maxLength: 20 }),
        (times) => {
          for (const t of times) {
            expect(copyTime(t)).toBe(new Date(t).toISOString());
            // Neighbours in the same second and across the boundary reuse or refresh the prefix.
            expect(copyTime(t + 1)).toBe(new Date(t + 1).toISOString());
            const before = Math.max(t - 1, 0);
            expect(copyTime(before)).toBe(new Date(before).toISOString());
          }
        },
      ),
    );
    expect(copyTime(Date.parse("2026-11-22T01:02:03.007Z"))).toBe("2026-11-22T01:02:03.007Z");
    expect(copyTime(Date.parse("2026-11-22T01:02:03.070Z"))).toBe("2026-11-22T01:02:03.070Z");
    for (const edge of [-1, -999, -1000, 253_402_300_800_000]) {
      expect(copyTime(edge)).toBe(new Date(edge).toISOString()); // before 1970, after year 9999
    }
    expect(copyTime(null)).toBe("\\N");
  });
});

describe("copyText", () => {
  it("escapes what COPY's text format gives a meaning to, and nothing else", () => {
    expect(copyText(null)).toBe("\\N");
    expect(copyText(undefined)).toBe("\\N");
    expect(copyText("\\N")).toBe("\\\\N"); // the text "\N" is not null
    expect(copyText("a\tb\nc\rd\\e")).toBe("a\\tb\\nc\\rd\\\\e");
    expect(copyText("nul\u0000byte")).toBe("nul\uFFFDbyte");
    expect(copyText("https://app.example.com")).toBe("https://app.example.com");
    expect(copyText("ü 🚀 \u00a0")).toBe("ü 🚀 \u00a0");
  });
});

describe("encodeRow", () => {
  const event: AuditEventInput = {
    ts: Date.parse("2026-11-22T01:02:03.456Z"),
    kind: "close",
    tenant: "acme",
    decision: "accepted",
    reason: "allowed",
    origin: "https://app.example.com",
    originNormalized: "https://app.example.com",
    remoteAddr: "10.0.0.1",
    userAgent: "tab\there",
    path: "/live",
    subprotocol: null,
    policyVersion: 3,
    matchedPattern: "https://*.example.com",
    closeCode: 1000,
    durationMs: 3_000_000_000,
    details: { note: "x" },
    credentials: true,
    tokenState: "valid",
    offeredSubprotocols: "chat,v2",
  };

  it("writes one field per column, in COPY_COLUMNS order, ending the line", () => {
    const line = encodeRow("gw-1", event, 5, Date.parse("2026-11-22T01:02:04Z"));
    expect(line.endsWith("\n")).toBe(true);
    const fields = line.slice(0, -1).split("\t");
    expect(fields).toHaveLength(COPY_COLUMNS.length);
    expect(Object.fromEntries(COPY_COLUMNS.map((c, i) => [c, fields[i]]))).toEqual({
      gateway_id: "gw-1",
      ts: "2026-11-22T01:02:03.456Z",
      last_ts: "2026-11-22T01:02:04.000Z",
      kind: "close",
      via: "gateway",
      tenant: "acme",
      decision: "accepted",
      reason: "allowed",
      origin: "https://app.example.com",
      origin_normalized: "https://app.example.com",
      remote_addr: "10.0.0.1",
      user_agent: "tab\\there",
      path: "/live",
      subprotocol: "\\N",
      policy_version: "3",
      matched_pattern: "https://*.example.com",
      count: "5",
      close_code: "1000",
      duration_ms: "2147483647", // clamped to the column's range
      details: '{"note":"x"}',
      shadow_decision: "\\N",
      shadow_reason: "\\N",
      shadow_version: "\\N",
      credentials: "t",
      token_state: "valid",
      offered_subprotocols: "chat,v2",
    });
  });

  it("writes a shadow decision where a staged version differed", () => {
    const fields = encodeRow(
      "gw-1",
      { ...event, shadowDecision: "rejected", shadowReason: "origin_not_allowed", shadowVersion: 4 },
      1,
      null,
    )
      .slice(0, -1)
      .split("\t");
    const at = COPY_COLUMNS.indexOf("shadow_decision");
    expect(fields.slice(at, at + 3)).toEqual(["rejected", "origin_not_allowed", "4"]);
  });

  it("writes via (gateway unless set)", () => {
    const field = (e: AuditEventInput) =>
      encodeRow("gw-1", e, 1, null).slice(0, -1).split("\t")[COPY_COLUMNS.indexOf("via")];
    expect(field(event)).toBe("gateway");
    expect(field({ ...event, kind: "http", via: "forward_auth" })).toBe("forward_auth");
  });
});
