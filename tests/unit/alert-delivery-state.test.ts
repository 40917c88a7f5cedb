/**
 * What one delivery attempt does to an alert delivery (server/alerts/delivery-state.ts) and the
 * rule parameters' validation (server/alerts/alert-rule.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertRuleParams, parseAlertRuleParams } from "../../server/alerts/alert-rule";
import { afterAttempt, backoffMs, MAX_ATTEMPTS } from "../../server/alerts/delivery-state";

const now = new Date("2026-12-02T12:00:00Z");

describe("afterAttempt", () => {
  it("a 2xx delivers", () => {
    const next = afterAttempt({ attempts: 0, log: [] }, { status: 204 }, now);
    expect(next).toMatchObject({ status: "delivered", attempts: 1, responseStatus: 204, error: null });
    expect(next.log).toEqual([{ at: now.toISOString(), status: 204, error: null }]);
  });

  it.each([
    [{ status: 500 }, "the receiver answered 500"],
    [{ status: 302 }, "the receiver answered 302"],
    [{ error: "connect ECONNREFUSED 127.0.0.1:9" }, "connect ECONNREFUSED 127.0.0.1:9"],
  ])("%o is retried after the backoff, logged", (outcome, error) => {
    const next = afterAttempt({ attempts: 1, log: [{ at: "x", status: 500, error: "e" }] }, outcome, now, 1000);
    expect(next.status).toBe("pending");
    expect(next.error).toBe(error);
    expect(next.nextAttemptAt.getTime() - now.getTime()).toBe(backoffMs(2, 1000));
    expect(next.log).toHaveLength(2);
  });

  it("gives up after MAX_ATTEMPTS", () => {
    const next = afterAttempt({ attempts: MAX_ATTEMPTS - 1, log: [] }, { status: 503 }, now);
    expect(next.status).toBe("failed");
    expect(next.attempts).toBe(MAX_ATTEMPTS);
  });

  it("backoff triples from the base and stays within an hour", () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 10_000))).toEqual([10_000, 30_000, 90_000, 270_000]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 60_000 }), (attempt, base) => {
        const delay = backoffMs(attempt, base);
        return delay >= Math.min(base, 3_600_000) && delay <= 3_600_000 && backoffMs(attempt + 1, base) >= delay;
      }),
    );
  });

  it("keeps at most MAX_ATTEMPTS log entries and never a long error", () => {
    const log = Array.from({ length: MAX_ATTEMPTS }, (_, i) => ({ at: String(i), status: 500, error: "e" }));
    const next = afterAttempt({ attempts: 3, log }, { error: "x".repeat(5000) }, now);
    expect(next.log).toHaveLength(MAX_ATTEMPTS);
    expect(next.error!.length).toBeLessThanOrEqual(300);
  });
});

describe("alert rule parameters", () => {
  it("fills in defaults", () => {
    expect(parseAlertRuleParams("rejection_spike", {})).toEqual({
      windowMinutes: 5,
      baselineHours: 24,
      factor: 3,
      minCount: 20,
    });
    expect(parseAlertRuleParams("gateway_stale", { staleAfterSeconds: 30 })).toEqual({
      staleAfterSeconds: 30,
      behindAfterSeconds: 60,
    });
  });

  it.each([
    ["rejection_spike", { windowMinutes: 0 }],
    ["rejection_spike", { factor: 0.5 }],
    ["new_rejected_origin", { baselineDays: 365 }],
    ["gateway_stale", { staleAfterSeconds: 1 }],
    ["tester_finding", { anything: 1 }],
    ["audit_unhealthy", { windowMinutes: "5" }],
  ] as const)("refuses %s %o", (kind, params) => {
    expect(alertRuleParams[kind].safeParse(params).success).toBe(false);
  });
});
