/**
 * "Untrusted input is bounded" (SPEC §5), the pure parts: `clip`, the bounding of an audit
 * event before it is queued (server/audit/bound-event.ts), the last-resort hard clip of an
 * encoded row (server/audit/copy-row.ts), the classification of Postgres errors that splits
 * a batch, and log lines, which the logger bounds whatever a caller passes.
 * (tests/integration/audit-kill-switch.test.ts checks the same against a real gateway.)
 */
import { Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundDetails, boundEvent } from "../../server/audit/bound-event";
import { COPY_COLUMNS, copyTextValue, encodeRow, HARD_CLIP_TEXT, hardClipRow } from "../../server/audit/copy-row";
import { isRefusal } from "../../server/audit/pipeline";
import type { AuditEventInput } from "../../server/audit/types";
import { clip, MAX_DETAILS_JSON, MAX_FIELD_TEXT, TEXT_LIMITS } from "../../server/clip";
import { createLogger } from "../../server/log";

const base: AuditEventInput = {
  ts: Date.parse("2026-12-01T00:00:00.000Z"),
  kind: "handshake",
  tenant: "acme",
  decision: "rejected",
  reason: "tenant_unknown",
  origin: "https://app.example.com",
  originNormalized: "https://app.example.com",
  remoteAddr: "10.0.0.1",
  userAgent: "ua",
  path: "/x",
  subprotocol: null,
  policyVersion: 1,
  matchedPattern: null,
};

describe("clip", () => {
  it("keeps short values, cuts long ones to the limit with an ellipsis, never splits a surrogate pair", () => {
    expect(clip(null)).toBeNull();
    expect(clip("abc", 3)).toBe("abc");
    expect(clip("abcd", 3)).toBe("ab…");
    expect(clip("a🚀🚀", 4)).toBe("a🚀…"); // "a" + pair + ellipsis
    expect(clip("ab🚀", 3)).toBe("ab…");
    expect(clip("a🚀b", 3)).toBe("a…"); // cutting after "a\uD83D" would leave half a pair
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.integer({ min: 2, max: 200 }), (s, max) => {
        const c = clip(s, max)!;
        expect(c.length).toBeLessThanOrEqual(max);
        expect(clip(c, max)).toBe(c); // idempotent
        if (s.length <= max) expect(c).toBe(s);
        else expect(/[\uD800-\uDBFF]$/.test(c.slice(0, -1))).toBe(false);
      }),
    );
  });
});

describe("boundEvent", () => {
  it("returns the event itself when every value is within bounds", () => {
    expect(boundEvent(base)).toBe(base);
  });

  it("clips every text column to its limit, whatever was sent", () => {
    const huge = "x".repeat(100_000);
    const bounded = boundEvent({
      ...base,
      tenant: huge,
      origin: huge,
      originNormalized: huge,
      remoteAddr: huge,
      userAgent: huge,
      path: huge,
      subprotocol: huge,
      matchedPattern: huge,
      reason: huge,
      offeredSubprotocols: huge,
    });
    for (const [field, max] of Object.entries(TEXT_LIMITS)) {
      if (field === "gatewayId") continue;
      expect((bounded[field as keyof AuditEventInput] as string).length, field).toBe(max);
    }
  });

  it("makes times and integers finite and details bounded, valid JSON without NUL", () => {
    const bounded = boundEvent({
      ...base,
      ts: Number.NaN,
      policyVersion: Number.POSITIVE_INFINITY,
      durationMs: Number.NaN,
      count: Number.NaN,
      details: { nul: "a\u0000b", long: "y".repeat(50_000), deep: { a: { b: { c: { d: { e: 1 } } } } } },
    });
    expect(Number.isFinite(bounded.ts)).toBe(true);
    expect(bounded.policyVersion).toBeNull();
    expect(bounded.durationMs).toBeNull();
    expect(bounded.count).toBe(1);
    const details = bounded.details as { nul: string; long: string; deep: unknown };
    expect(details.nul).toBe("a\uFFFDb");
    expect(details.long.length).toBe(MAX_FIELD_TEXT);
    expect(JSON.stringify(details)).not.toContain("\\u0000");
  });

  it("replaces details too large even once clipped by a bounded preview", () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, "z".repeat(900)]));
    const details = boundDetails(many)!;
    expect(details.truncated).toBe(true);
    expect(JSON.stringify(details).length).toBeLessThanOrEqual(MAX_DETAILS_JSON);
  });
});

describe("hardClipRow", () => {
  it("cuts every text column of an encoded row and puts the cause in details; other columns stay", () => {
    const long = "t\\ab\t".repeat(100);
    const line = encodeRow("gw-1", { ...base, tenant: long, userAgent: long, policyVersion: 9 }, 3, null);
    const clipped = hardClipRow(line, "23514 refused")!;
    const fields = clipped.slice(0, -1).split("\t");
    expect(fields).toHaveLength(COPY_COLUMNS.length);
    const at = (c: (typeof COPY_COLUMNS)[number]) => fields[COPY_COLUMNS.indexOf(c)]!;
    expect(copyTextValue(at("tenant"))).toBe(clip(long, HARD_CLIP_TEXT));
    expect(copyTextValue(at("user_agent"))!.length).toBe(HARD_CLIP_TEXT);
    expect([at("policy_version"), at("count"), at("kind"), at("decision")]).toEqual([
      "9",
      "3",
      "handshake",
      "rejected",
    ]);
    expect(JSON.parse(copyTextValue(at("details"))!)).toEqual({ clipped: true, cause: "23514 refused" });
    expect(hardClipRow("not\ta\trow\n", "x")).toBeNull();
  });
});

describe("isRefusal", () => {
  it("splits on data the rows carry (22, 23, 54000), retries anything else", () => {
    const err = (code?: string) => Object.assign(new Error("x"), code === undefined ? {} : { code });
    for (const code of ["22P02", "22021", "23514", "23502", "54000"]) expect(isRefusal(err(code)), code).toBe(true);
    for (const code of [undefined, "ECONNREFUSED", "08006", "57P01", "53300", "42P01", "42501", "40001", "54001"]) {
      expect(isRefusal(err(code)), String(code)).toBe(false);
    }
  });
});

describe("log lines", () => {
  it("are bounded whatever a caller logs", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ name: "t", level: "info", destination });
    const slug = "s".repeat(3000);
    logger.warn({ tenant: slug, nested: { origin: "o".repeat(50_000), list: ["p".repeat(5000)] } }, "something");
    logger.info({ tenant: "short" }, "short");
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as { tenant: string; nested: { origin: string; list: string[] } };
    expect(first.tenant).toBe(clip(slug, MAX_FIELD_TEXT));
    expect(first.nested.origin.length).toBe(MAX_FIELD_TEXT);
    expect(first.nested.list[0]!.length).toBe(MAX_FIELD_TEXT);
    expect(lines[0]!.length).toBeLessThan(4 * MAX_FIELD_TEXT);
    expect(JSON.parse(lines[1]!)).toMatchObject({ tenant: "short", msg: "short" });
  });
});
