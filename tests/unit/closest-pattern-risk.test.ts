/**
 * closestToOrigin's risk: "Allow this origin" warns strongly (and asks twice) for origins that
 * pass for an allowed one — downgrades of an allowed https/wss entry and lookalike domains —
 * and not for ordinary near misses (a new subdomain, a parent domain, another port).
 */
import { describe, expect, it } from "vitest";
import { closestToOrigin, compilePolicy, defaultPolicyDocument, parseOrigin } from "../../server/policy/browser";

const NOW = Date.UTC(2030, 0, 1);
const entries = compilePolicy(
  {
    ...defaultPolicyDocument(),
    origins: ["https://pay.acme.com", "https://*.shop.example", "wss://feed.acme.com"].map((pattern) => ({ pattern })),
  },
  NOW,
  { version: 1, tenant: "acme" },
).entries;

function closest(origin: string) {
  const parsed = parseOrigin(origin);
  if (parsed.kind !== "origin") throw new Error(`not an origin: ${origin}`);
  return closestToOrigin(entries, parsed, NOW);
}

describe("closestToOrigin risk", () => {
  it.each([
    ["http://pay.acme.com", "https://pay.acme.com", "downgrade"],
    ["http://eu.shop.example", "https://*.shop.example", "downgrade"],
    ["ws://feed.acme.com", "wss://feed.acme.com", "downgrade"],
    ["https://pay.acme.com.attacker.io", "https://pay.acme.com", "lookalike"],
    ["https://evilpay.acme.com.example", undefined, undefined],
    ["https://notpay.acme.com", "https://pay.acme.com", "lookalike"],
    ["https://pay.acme.co", "https://pay.acme.com", "lookalike"],
    ["https://shop.example.evil.io", "https://*.shop.example", "lookalike"],
    ["https://myshop.example", "https://*.shop.example", "lookalike"],
  ])("%s → closest %s, risk %s", (origin, pattern, risk) => {
    const found = closest(origin);
    if (pattern === undefined) {
      expect(found?.risk).toBeUndefined();
      return;
    }
    expect(found?.pattern).toBe(pattern);
    expect(found?.risk).toBe(risk);
  });

  it.each([
    "https://pay.acme.com:8443", // another port of the same secure host
    "https://api.pay.acme.com", // a subdomain: a real (if new) host of the same owner
    "https://acme.com", // a parent domain
    "https://shop.example", // the wildcard's apex
  ])("%s is a near miss without a risk", (origin) => {
    const found = closest(origin);
    expect(found).toBeDefined();
    expect(found?.risk).toBeUndefined();
  });
});
