/**
 * bypassVariants: the scan's list of classic origin-check bypasses, and the engine's
 * verdict on each (every real bypass refused, the controls accepted).
 *
 * Sources: PortSwigger, "Exploiting CORS misconfigurations for Bitcoins and bounties"
 * (example.com.evil.net, evilexample.com, unescaped dot, http downgrade, null) and
 * "Advanced CORS exploitation techniques" (special characters after the host:
 * `_ \` } ! $ ' ( * + , ; = | ~ & ^ %60`); Christian Schneider, "Cross-Site WebSocket
 * Hijacking" (missing Origin, third-party page); Unicode TR #39 (Cyrillic homoglyphs).
 */
import { describe, expect, it } from "vitest";
import {
  bypassVariants,
  compilePolicy,
  decideHandshake,
  defaultPolicyDocument,
  parseOrigin,
} from "../../server/policy";

const NOW = Date.UTC(2030, 0, 1);

function decide(pattern: string, origin: string | null) {
  const compiled = compilePolicy({ ...defaultPolicyDocument(), origins: [{ pattern }] }, NOW, {
    version: 1,
    tenant: "t",
  });
  return decideHandshake(compiled, {
    origin: origin ?? undefined,
    hasCookie: false,
    hasAuthorization: false,
    offeredSubprotocols: [],
    now: NOW,
  });
}

function origins(pattern: string): Array<string | null> {
  return bypassVariants(pattern).map((variant) => variant.origin);
}

describe("bypassVariants: exact pattern https://example.com", () => {
  const variants = bypassVariants("https://example.com");
  const list = origins("https://example.com");

  it.each([
    "https://example.com.evil.net",
    "https://evilexample.com",
    "https://example.com-evil.net",
    "https://examplexcom",
    "http://example.com",
    "https://example.com:8443",
    "https://sub.example.com",
    "https://example.com.",
    "https://EXAMPLE.COM",
    "https://xn--xample-2of.com",
    "https://example.com_.evil.net",
    "https://example.com`.evil.net",
    "https://example.com%60.evil.net",
    "https://example.com}.evil.net",
    "https://example.com&.evil.net",
    "https://example.com^.evil.net",
    "null",
  ])("includes %s", (origin) => {
    expect(list).toContain(origin);
  });

  it("includes a missing Origin (null value = send no header)", () => {
    expect(list).toContain(null);
  });

  it("covers all special characters of the PortSwigger list", () => {
    for (const character of ["_", "`", "}", "%60", "!", "$", "'", "(", "*", "+", ",", ";", "=", "|", "~", "&", "^"]) {
      expect(list).toContain(`https://example.com${character}.evil.net`);
    }
  });

  it("has no duplicates", () => {
    expect(new Set(list).size).toBe(list.length);
  });

  it("marks exactly the non-canonical values as raw", () => {
    for (const variant of variants) {
      if (variant.origin === null || variant.origin === "null") continue;
      const parsed = parseOrigin(variant.origin);
      const canonical = parsed.kind === "origin" && parsed.origin === variant.origin;
      expect(variant.raw === true, `${variant.origin}`).toBe(!canonical);
    }
    expect(variants.find((variant) => variant.origin === "https://EXAMPLE.COM")?.raw).toBe(true);
  });

  it("the engine refuses every variant except the upper-case spelling of the same origin", () => {
    for (const variant of variants) {
      const decision = decide("https://example.com", variant.origin);
      const sameOrigin = variant.origin === "https://EXAMPLE.COM";
      expect(decision.allowed, `${variant.label}: ${variant.origin}`).toBe(sameOrigin);
    }
  });
});

describe("bypassVariants: wildcard pattern https://*.example.com", () => {
  const list = origins("https://*.example.com");

  it.each([
    ["https://sub.example.com", true],
    ["https://a.b.sub.example.com", true],
    ["https://SUB.EXAMPLE.COM", true],
    ["https://example.com", false],
    ["https://evilexample.com", false],
    ["https://sub.evilexample.com", false],
    ["https://sub.evil-example.com", false],
    ["https://sub.example.com.evil.net", false],
    ["https://subxexample.com", false],
    ["https://sub.examplexcom", false],
    ["http://sub.example.com", false],
    ["https://sub.example.com:8443", false],
    ["https://sub.example.com.", false],
    ["https://sub.xn--xample-2of.com", false],
    ["https://sub.example.com`.evil.net", false],
  ] as const)("includes %s (engine allows: %s)", (origin, allowed) => {
    expect(list).toContain(origin);
    expect(decide("https://*.example.com", origin).allowed).toBe(allowed);
  });

  it("has no duplicates", () => {
    expect(new Set(list).size).toBe(list.length);
  });
});

describe("bypassVariants: other pattern kinds", () => {
  it("wildcard with port keeps the port on controls and probes the default port", () => {
    const list = origins("https://*.example.com:8443");
    expect(list).toContain("https://sub.example.com:8443");
    expect(list).toContain("https://sub.example.com");
    expect(decide("https://*.example.com:8443", "https://sub.example.com").allowed).toBe(false);
  });

  it("any-port: no port variants, host variants on a sample port", () => {
    const list = origins("http://localhost:*");
    expect(list).toContain("http://localhost.evil.net:3000");
    expect(list).toContain("http://evillocalhost:3000");
    expect(list.some((origin) => origin === "http://localhost:3001")).toBe(false);
    for (const origin of list) {
      if (origin === "http://LOCALHOST:3000") continue;
      expect(decide("http://localhost:*", origin).allowed, String(origin)).toBe(false);
    }
  });

  it('"*": only the cases * must not cover (null, missing) and a third party', () => {
    expect(origins("*")).toEqual(["null", null, "https://evil.net"]);
    expect(decide("*", "null").allowed).toBe(false);
    expect(decide("*", null).allowed).toBe(false);
    expect(decide("*", "https://evil.net").allowed).toBe(true);
  });

  it("IP literal hosts get scheme/port variants but no lookalike hosts", () => {
    const list = origins("https://[::1]:8443");
    expect(list).toContain("http://[::1]:8443");
    expect(list).toContain("https://[::1]");
    expect(list.some((origin) => origin?.includes("evil[::1]"))).toBe(false);
  });

  it("an invalid pattern has no variants", () => {
    expect(bypassVariants("https://*.com")).toEqual([]);
    expect(bypassVariants("")).toEqual([]);
  });
});
