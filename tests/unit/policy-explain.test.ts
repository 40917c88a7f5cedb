/**
 * explainHandshake: the trace agrees with the decision, and the closest pattern names the
 * reason a near-miss did not match (the classic mistakes of the PortSwigger CORS research:
 * scheme, port, apex vs wildcard, lookalike hosts, trailing dot).
 */
import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  decideHandshake,
  defaultPolicyDocument,
  explainHandshake,
  type HandshakeRequest,
  type PolicyDocument,
  signHandshakeToken,
} from "../../server/policy";

const NOW = Date.UTC(2030, 0, 1);

function compiled(
  patterns: Array<string | { pattern: string; expiresAt?: string }>,
  overrides: Partial<PolicyDocument> = {},
) {
  return compilePolicy(
    {
      ...defaultPolicyDocument(),
      ...overrides,
      origins: patterns.map((entry) => (typeof entry === "string" ? { pattern: entry } : entry)),
    },
    NOW,
    { version: 1, tenant: "acme", tokenSecret: "s" },
  );
}

function request(origin: string | undefined, overrides: Partial<HandshakeRequest> = {}): HandshakeRequest {
  return { origin, hasCookie: false, hasAuthorization: false, offeredSubprotocols: [], now: NOW, ...overrides };
}

const POLICY = compiled([
  "https://app.example.com",
  "https://*.example.org",
  "https://api.example.net:8443",
  "http://localhost:*",
]);

const NEAR_MISSES: Array<[origin: string, pattern: string, whyPart: string]> = [
  ["http://app.example.com", "https://app.example.com", "scheme differs (http vs https)"],
  ["https://app.example.com:8443", "https://app.example.com", "port differs (8443 vs default)"],
  ["https://api.example.net", "https://api.example.net:8443", "port differs (default vs 8443)"],
  ["https://example.org", "https://*.example.org", "does not cover the apex example.org — add https://example.org"],
  ["https://evilexample.org", "https://*.example.org", "evilexample.org is not a subdomain of example.org"],
  ["https://a.example.org.evil.net", "https://*.example.org", "is not under example.org"],
  ["https://a.example.org.", "https://*.example.org", "trailing dot"],
  ["http://a.example.org", "https://*.example.org", "scheme differs (http vs https)"],
  ["https://app.example.com.", "https://app.example.com", "trailing dot"],
  ["https://x.app.example.com", "https://app.example.com", "add https://*.app.example.com"],
  ["https://evilapp.example.com", "https://app.example.com", "is not a subdomain of app.example.com"],
  ["https://app.example.com.evil.net", "https://app.example.com", "merely starts with app.example.com"],
  ["https://www.example.com", "https://app.example.com", "same site"],
  ["https://app.exampel.com", "https://app.example.com", "typo"],
  ["https://localhost:3000", "http://localhost:*", "scheme differs (https vs http)"],
];

describe("explainHandshake: closest pattern", () => {
  it.each(NEAR_MISSES)("%s → %s: %s", (origin, pattern, whyPart) => {
    const explanation = explainHandshake(POLICY, request(origin));
    expect(explanation.decision.reason).toBe("origin_not_allowed");
    expect(explanation.closestPattern?.pattern).toBe(pattern);
    expect(explanation.closestPattern?.why).toContain(whyPart);
  });

  it("offers no closest pattern for an unrelated origin", () => {
    expect(explainHandshake(POLICY, request("https://totally-unrelated.test")).closestPattern).toBeUndefined();
  });

  it("says when the matching entry has expired", () => {
    const policy = compiled([{ pattern: "https://temp.example.com", expiresAt: new Date(NOW + 1000).toISOString() }]);
    const explanation = explainHandshake(policy, request("https://temp.example.com", { now: NOW + 2000 }));
    expect(explanation.decision.reason).toBe("origin_not_allowed");
    expect(explanation.closestPattern).toEqual({
      pattern: "https://temp.example.com",
      why: `it matches, but the entry expired at ${new Date(NOW + 1000).toISOString()}`,
    });
  });

  it("explains an expired null entry", () => {
    const policy = compiled([{ pattern: "null", expiresAt: new Date(NOW - 1000).toISOString() }]);
    expect(explainHandshake(policy, request("null")).closestPattern?.why).toContain("expired");
  });
});

describe("explainHandshake: steps", () => {
  it("has the same decision as decideHandshake", () => {
    const cases = [
      request("https://app.example.com"),
      request("https://evil.net"),
      request(undefined),
      request("null"),
    ];
    for (const item of cases) expect(explainHandshake(POLICY, item).decision).toEqual(decideHandshake(POLICY, item));
  });

  it("traces every check in order, skipping those after the first failure", () => {
    const explanation = explainHandshake(POLICY, request("https://app.example.com", { hasCookie: true }));
    expect(explanation.steps.map((step) => [step.check, step.outcome])).toEqual([
      ["origin", "pass"],
      ["credentials", "fail"],
      ["token", "skip"],
      ["subprotocol", "skip"],
      ["mode", "info"],
    ]);
    expect(explanation.steps[0]?.message).toContain("https://app.example.com");
    expect(explanation.steps[1]?.message).toContain("Cookie");
  });

  it("explains the maximum token lifetime: what the token lives and what the policy allows", () => {
    const policy = compiled(["https://app.example.com"], {
      token: "required",
      limits: { ...defaultPolicyDocument().limits, maxTokenLifetimeSeconds: 300 },
    });
    const long = signHandshakeToken({ aud: "acme", iat: NOW / 1000, exp: NOW / 1000 + 900 }, "s");
    const refused = explainHandshake(policy, request("https://app.example.com", { accessTokenParam: long }));
    expect(refused.decision.reason).toBe("token_invalid");
    expect(refused.steps.find((step) => step.check === "token")?.message).toMatch(/lives 900 s .*maximum of 300 s/);
    const short = signHandshakeToken({ aud: "acme", iat: NOW / 1000, exp: NOW / 1000 + 120 }, "s");
    const admitted = explainHandshake(policy, request("https://app.example.com", { accessTokenParam: short }));
    expect(admitted.decision.reason).toBe("allowed");
    expect(admitted.steps.find((step) => step.check === "token")?.message).toMatch(
      /lifetime 120 s, within the policy's maximum of 300 s/,
    );
  });

  it("names the token failure without echoing the token", () => {
    const policy = compiled(["https://app.example.com"], { token: "required" });
    const jwt = signHandshakeToken({ aud: "someone-else", exp: NOW / 1000 + 60 }, "s");
    const explanation = explainHandshake(policy, request("https://app.example.com", { accessTokenParam: jwt }));
    const tokenStep = explanation.steps.find((step) => step.check === "token");
    expect(tokenStep).toMatchObject({ outcome: "fail" });
    expect(tokenStep?.message).toContain("audience");
    expect(JSON.stringify(explanation)).not.toContain(jwt);
  });

  it("says what report-only did", () => {
    const policy = compiled(["https://app.example.com"], { mode: "report-only" });
    const explanation = explainHandshake(policy, request("https://evil.net"));
    expect(explanation.decision).toMatchObject({ allowed: true, wouldReject: "origin_not_allowed" });
    expect(explanation.steps.at(-1)).toMatchObject({ check: "mode", outcome: "info" });
    expect(explanation.steps.at(-1)?.message).toContain("would have refused");
  });

  it("finds the closest of 50,000 entries (prefers the same host over same-site neighbours)", () => {
    // Not timed (SPEC §9: quality bars are measured by benchmarks, not asserted in tests).
    const big = compiled(Array.from({ length: 50_000 }, (_, index) => `https://app${index}.example.com`));
    const explanation = explainHandshake(big, request("https://app49999.example.com:8443"));
    expect(explanation.closestPattern).toEqual({
      pattern: "https://app49999.example.com",
      why: "port differs (8443 vs default)",
    });
  });
});
