/**
 * The handshake budgets (server/gateway/limits.ts) with a controlled clock: fixed windows,
 * the unverified budget consulted before the tenant lookup, per-tenant budgets that
 * forget() drops, and the memory bound: however many addresses and slugs arrive, no more
 * than `maxKeys` counters are held, and reaching the bound starts a new window instead of
 * refusing addresses never seen.
 */
import { describe, expect, it } from "vitest";
import { RateLimits, WINDOW_MS, WindowCounters } from "../../server/gateway/limits";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("WindowCounters", () => {
  it("counts up to the limit per key within a window, then refuses; a new window starts over", () => {
    const c = clock();
    const counters = new WindowCounters(100, c.now);
    expect([1, 2, 3, 4].map(() => counters.take("t", "1.1.1.1", 3))).toEqual([true, true, true, false]);
    expect(counters.take("t", "2.2.2.2", 3)).toBe(true);
    expect(counters.retryAfterSeconds("t")).toBe(60);
    c.advance(WINDOW_MS - 1);
    expect(counters.take("t", "1.1.1.1", 3)).toBe(false);
    expect(counters.retryAfterSeconds("t")).toBe(1);
    c.advance(1);
    expect(counters.take("t", "1.1.1.1", 3)).toBe(true);
    expect(counters.size).toBe(1);
  });

  it("never holds more than maxKeys counters: at the bound it starts a new window", () => {
    const c = clock();
    const counters = new WindowCounters(50, c.now);
    for (let i = 0; i < 10_000; i++) {
      expect(counters.take(`tenant-${i % 3}`, `10.0.${i >> 8}.${i & 255}`, 1)).toBe(true);
      expect(counters.size).toBeLessThanOrEqual(50);
    }
    expect(counters.scopeCount).toBeLessThanOrEqual(3);
  });

  it("forget() drops a scope and its counters", () => {
    const counters = new WindowCounters(100, clock().now);
    counters.take("a", "x", 5);
    counters.take("a", "y", 5);
    counters.take("b", "x", 5);
    counters.forget("a");
    expect([counters.size, counters.scopeCount]).toEqual([1, 1]);
    expect(counters.peek("a", "x")).toBe(0);
  });
});

describe("RateLimits", () => {
  it("an address that spent its unverified budget is refused before any lookup; others are not", () => {
    const c = clock();
    const limits = new RateLimits({ unknownTenantPerMinute: 3, now: c.now });
    for (let i = 0; i < 3; i++) {
      expect(limits.addressAllowed("6.6.6.6")).toBe(true);
      limits.countUnverified("6.6.6.6");
    }
    expect(limits.addressAllowed("6.6.6.6")).toBe(false);
    expect(limits.addressAllowed("7.7.7.7")).toBe(true);
    c.advance(WINDOW_MS);
    expect(limits.addressAllowed("6.6.6.6")).toBe(true);
  });

  it("holds one counter per address for unverified handshakes, never one per slug", () => {
    const limits = new RateLimits({ unknownTenantPerMinute: 1_000_000, now: clock().now });
    for (let i = 0; i < 5000; i++) limits.countUnverified("6.6.6.6");
    expect(limits.sizes()).toMatchObject({ unverifiedKeys: 1, tenantKeys: 0, tenantScopes: 0 });
  });

  it("per-tenant budgets are separate and forget() frees a removed tenant's counters", () => {
    const limits = new RateLimits({ now: clock().now });
    expect(limits.allowTenant("a", "1.1.1.1", 1)).toBe(true);
    expect(limits.allowTenant("a", "1.1.1.1", 1)).toBe(false);
    expect(limits.allowTenant("b", "1.1.1.1", 1)).toBe(true);
    limits.forget("a");
    expect(limits.sizes()).toMatchObject({ tenantKeys: 1, tenantScopes: 1 });
    expect(limits.allowTenant("a", "1.1.1.1", 1)).toBe(true);
  });
});
