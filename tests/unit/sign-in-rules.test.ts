/**
 * The sign-in rules, pure: where `next` may lead after sign-in (safeNextPath) and how many
 * password guesses cost what (decideSignIn). The attacks against the real dashboard are in
 * tests/e2e/sign-in.spec.ts; here the edges, table-driven.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_AFTER_SIGN_IN, safeNextPath } from "../../app/_lib/auth/safe-next";
import {
  backoffSeconds,
  decideSignIn,
  EMPTY_GUARD,
  type GuardState,
  SIGN_IN_LIMITS,
} from "../../app/_lib/auth/sign-in-limits";

const DASHBOARD = "https://og.example.com";

describe("safeNextPath", () => {
  it.each([
    ["/tenants", "/tenants"],
    ["/audit?tenant=a&decision=rejected", "/audit?tenant=a&decision=rejected"],
    ["/tenants/demo#history", "/tenants/demo#history"],
    ["/a b", "/a%20b"],
    ["/x\n", "/x"],
  ])("keeps %j as %j", (next, expected) => {
    expect(safeNextPath(next, DASHBOARD)).toBe(expected);
  });

  it.each([
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "/\\\\evil.example",
    "/.//evil.example",
    "/..//evil.example",
    "https://evil.example/",
    "https://og.example.com/tenants",
    "javascript:alert(1)",
    "tenants",
    "",
    undefined,
    null,
    ["/tenants", "/audit"],
    `/${"a".repeat(3000)}`,
  ])("refuses %j (the default page instead)", (next) => {
    expect(safeNextPath(next, DASHBOARD)).toBe(DEFAULT_AFTER_SIGN_IN);
  });

  it("never returns something a browser would resolve to another origin", () => {
    const hostile = ["/\t/x.example", "/%09/x.example", "/\\x.example", "/./\\x.example", "/\u0000/x.example"];
    for (const next of hostile) {
      const path = safeNextPath(next, DASHBOARD);
      expect(new URL(path, DASHBOARD).origin, JSON.stringify(next)).toBe(DASHBOARD);
    }
  });
});

const T0 = Date.parse("2026-12-01T12:00:00Z");
const failed = (failures: number, at = T0, lastSuccessAt: number | null = null): GuardState => ({
  failures,
  lastFailureAt: at,
  lastSuccessAt,
});
const clean = { pair: EMPTY_GUARD, address: EMPTY_GUARD, account: EMPTY_GUARD };

describe("decideSignIn", () => {
  it("allows the free failures per account and address, then backs off exponentially up to the cap", () => {
    for (let f = 0; f < SIGN_IN_LIMITS.pairFree; f++) {
      expect(decideSignIn({ ...clean, pair: failed(f) }, T0 + 1).allowed).toBe(true);
    }
    const delays = [5, 6, 7, 8, 30].map((f) => backoffSeconds(f, SIGN_IN_LIMITS.pairFree));
    expect(delays).toEqual([15, 30, 60, 120, SIGN_IN_LIMITS.maxDelaySeconds]);
    const verdict = decideSignIn({ ...clean, pair: failed(SIGN_IN_LIMITS.pairFree) }, T0 + 1000);
    expect(verdict).toEqual({ allowed: false, scope: "pair", retryAfterSeconds: 14 });
    expect(decideSignIn({ ...clean, pair: failed(SIGN_IN_LIMITS.pairFree) }, T0 + 15_000).allowed).toBe(true);
  });

  it("forgets failures once the window passes without a new one", () => {
    const state = { ...clean, pair: failed(12), address: failed(500), account: failed(500) };
    expect(decideSignIn(state, T0 + 1000).allowed).toBe(false);
    expect(decideSignIn(state, T0 + SIGN_IN_LIMITS.windowSeconds * 1000).allowed).toBe(true);
  });

  it("limits an address that fails across many accounts", () => {
    const state = { ...clean, address: failed(SIGN_IN_LIMITS.addressMax) };
    expect(decideSignIn(state, T0 + 1000)).toMatchObject({ allowed: false, scope: "address" });
    expect(decideSignIn({ ...clean, address: failed(SIGN_IN_LIMITS.addressMax - 1) }, T0).allowed).toBe(true);
  });

  it("an account under attack slows every address that failed for it, and no other", () => {
    const account = failed(SIGN_IN_LIMITS.accountUnderAttack);
    expect(decideSignIn({ ...clean, account, pair: failed(1) }, T0 + 1000)).toEqual({
      allowed: false,
      scope: "account",
      retryAfterSeconds: SIGN_IN_LIMITS.windowSeconds - 1,
    });
    // The real user's address has not failed: never slowed, however large the flood.
    expect(decideSignIn({ ...clean, account: failed(1_000_000) }, T0 + 1000).allowed).toBe(true);
    expect(
      decideSignIn({ ...clean, account: failed(SIGN_IN_LIMITS.accountUnderAttack - 1), pair: failed(1) }, T0 + 1000)
        .allowed,
    ).toBe(true);
  });

  it("a known address (signed in from within KNOWN_DAYS) is exempt from the address and account rules only", () => {
    const known = failed(1, T0, T0 - 86_400_000);
    expect(decideSignIn({ pair: known, address: failed(1000), account: failed(1000) }, T0 + 1000).allowed).toBe(true);
    const knownButGuessing = failed(SIGN_IN_LIMITS.pairFree, T0, T0 - 86_400_000);
    expect(decideSignIn({ ...clean, pair: knownButGuessing }, T0 + 1000)).toMatchObject({
      allowed: false,
      scope: "pair",
    });
    const longAgo = failed(1, T0, T0 - (SIGN_IN_LIMITS.knownDays + 1) * 86_400_000);
    expect(decideSignIn({ pair: longAgo, address: EMPTY_GUARD, account: failed(1000) }, T0 + 1000)).toMatchObject({
      allowed: false,
      scope: "account",
    });
  });
});
