/**
 * compilePolicy + match: which origins each kind of pattern admits (SPEC §4.2), expiry,
 * precedence, and fail-closed compilation.
 *
 * Sources of the lookalike cases: PortSwigger, "Exploiting CORS misconfigurations for
 * Bitcoins and bounties" (example.com.evil.net, evilexample.com, unescaped dots, http
 * downgrade); Christian Schneider, "Cross-Site WebSocket Hijacking" (origin checks that use
 * substring/prefix tests); coder/websocket accept_test.go ("https://two.examplE.com" matched
 * by "*.example.com"); Django Channels OriginValidator tests (ports and schemes must match).
 */
import { describe, expect, it } from "vitest";
import {
  type CompilableDocument,
  type CompiledPolicy,
  compilePolicy,
  defaultPolicyDocument,
  type PolicyOriginInput,
  parseOrigin,
} from "../../server/policy";

const NOW = Date.UTC(2030, 0, 1);

function compile(
  origins: Array<string | PolicyOriginInput>,
  now = NOW,
  extra: Partial<CompilableDocument> = {},
): CompiledPolicy {
  const document: CompilableDocument = {
    ...defaultPolicyDocument(),
    ...extra,
    origins: origins.map((entry) => (typeof entry === "string" ? { pattern: entry } : entry)),
  };
  return compilePolicy(document, now, { version: 7, tenant: "acme" });
}

function matchOf(compiled: CompiledPolicy, header: string, now?: number): string | null {
  const parsed = parseOrigin(header);
  if (parsed.kind !== "origin") throw new Error(`test origin ${header} does not parse: ${JSON.stringify(parsed)}`);
  return compiled.match(parsed, now);
}

type Case = [pattern: string, origin: string, matches: boolean, source: string];

const CASES: Case[] = [
  // Exact.
  ["https://example.com", "https://example.com", true, "exact"],
  ["https://example.com", "https://EXAMPLE.com", true, "gorilla/websocket checkSameOrigin: case-insensitive host"],
  ["https://example.com", "https://example.com:443", true, "default port = no port"],
  ["https://example.com", "http://example.com", false, "PortSwigger: http downgrade"],
  ["https://example.com", "https://example.com:8443", false, "Django Channels: port must match"],
  ["https://example.com", "https://www.example.com", false, "exact is one host only"],
  ["https://example.com", "https://example.com.evil.net", false, "PortSwigger: suffix lookalike (startsWith)"],
  ["https://example.com", "https://evilexample.com", false, "PortSwigger: prefix lookalike (endsWith)"],
  ["https://example.com", "https://example.com.", false, "trailing dot is another host"],
  ["https://example.com", "https://examplexcom", false, "PortSwigger: unescaped dot"],
  ["https://example.com:8443", "https://example.com:8443", true, "explicit port"],
  ["https://example.com:8443", "https://example.com", false, "explicit port vs default"],
  ["http://example.com:443", "https://example.com", false, "same port number, other scheme"],
  ["https://bücher.de", "https://xn--bcher-kva.de", true, "IDN compared in punycode"],
  ["https://example.com", "https://xn--xample-2of.com", false, "Cyrillic е homoglyph (еxample.com) is another host"],
  ["capacitor://localhost", "capacitor://localhost", true, "non-http scheme"],
  ["capacitor://localhost", "http://localhost", false, "scheme differs"],
  ["http://[::1]:8080", "http://[::1]:8080", true, "IPv6"],
  ["http://[2001:db8::1]", "http://[2001:DB8::1]", true, "IPv6 hex digits are letters: case-insensitive"],
  // Wildcard.
  ["https://*.example.com", "https://two.examplE.com", true, "coder/websocket originPatterns"],
  ["https://*.example.com", "https://a.b.c.example.com", true, "any depth"],
  ["https://*.example.com", "https://example.com", false, "never the apex"],
  ["https://*.example.com", "https://evilexample.com", false, "PortSwigger: endsWith without dot"],
  ["https://*.example.com", "https://sub.evilexample.com", false, "endsWith without dot, deeper"],
  ["https://*.example.com", "https://example.com.evil.net", false, "PortSwigger: startsWith"],
  ["https://*.example.com", "https://sub.example.com.evil.net", false, "contains"],
  ["https://*.example.com", "https://subxexample.com", false, "unescaped dot in .*.example.com"],
  ["https://*.example.com", "https://sub.examplexcom", false, "unescaped dot before the TLD"],
  ["https://*.example.com", "http://sub.example.com", false, "scheme downgrade"],
  ["https://*.example.com", "https://sub.example.com:8443", false, "port must match"],
  ["https://*.example.com", "https://sub.example.com:443", true, "default port"],
  ["https://*.example.com", "https://sub.example.com.", false, "trailing dot is another host"],
  ["https://*.example.com.", "https://sub.example.com.", true, "trailing-dot wildcard matches trailing-dot hosts"],
  ["https://*.example.com.", "https://sub.example.com", false, "...and only those"],
  ["https://*.example.com:8443", "https://sub.example.com:8443", true, "wildcard with port"],
  ["https://*.example.com:8443", "https://sub.example.com", false, "wildcard with port vs default"],
  ["https://*.app.example.com", "https://x.example.com", false, "sibling of the suffix"],
  ["https://*.app.example.com", "https://x.app.example.com", true, "deeper suffix"],
  ["http://*.localhost:3000", "http://tenant1.localhost:3000", true, "*.localhost"],
  // Any port.
  ["http://localhost:*", "http://localhost:3000", true, "any port"],
  ["http://localhost:*", "http://localhost", true, "default port is a port too"],
  ["http://localhost:*", "http://localhost:65535", true, "any port"],
  ["http://localhost:*", "https://localhost:3000", false, "scheme must match"],
  ["http://localhost:*", "http://localhost.evil.net:3000", false, "startsWith"],
  ["http://localhost:*", "http://sub.localhost:3000", false, "any-port is one host"],
  // Any.
  ["*", "https://anything.example", true, "* admits well-formed origins"],
  ["*", "chrome-extension://abcdef", true, "* admits any scheme"],
];

describe("match: one pattern against one origin", () => {
  it.each(CASES)("%s vs %s → %s (%s)", (pattern, origin, matches) => {
    const compiled = compile([pattern]);
    expect(compiled.skipped).toEqual([]);
    expect(matchOf(compiled, origin)).toBe(matches ? compiled.entries[0]!.pattern.pattern : null);
  });
});

describe("match: the opaque and the missing origin", () => {
  it('"*" does not admit the null origin; only a "null" entry does', () => {
    expect(compile(["*"]).matchNull()).toBeNull();
    expect(compile(["null"]).matchNull()).toBe("null");
    expect(compile(["https://example.com"]).matchNull()).toBeNull();
  });
});

describe("match: several patterns", () => {
  const compiled = compile([
    "*",
    "https://*.example.com",
    "https://*.app.example.com",
    "https://www.app.example.com",
    "https://api.example.com:*",
  ]);

  it("returns the most specific entry: exact, then any-port, then deepest wildcard, then *", () => {
    expect(matchOf(compiled, "https://www.app.example.com")).toBe("https://www.app.example.com");
    expect(matchOf(compiled, "https://api.example.com:9000")).toBe("https://api.example.com:*");
    expect(matchOf(compiled, "https://x.app.example.com")).toBe("https://*.app.example.com");
    expect(matchOf(compiled, "https://x.example.com")).toBe("https://*.example.com");
    expect(matchOf(compiled, "https://evil.net")).toBe("*");
  });

  it("matching does not depend on list order", () => {
    const reversed = compile([...compiled.entries].reverse().map((entry) => entry.pattern.pattern));
    for (const origin of ["https://www.app.example.com", "https://x.app.example.com", "https://evil.net"]) {
      expect(matchOf(reversed, origin)).toBe(matchOf(compiled, origin));
    }
  });

  it("handles 50,000 entries and still distinguishes neighbours", () => {
    const many = compile(
      Array.from({ length: 50_000 }, (_, index) =>
        index % 2 ? `https://*.tenant${index}.example.com` : `https://app${index}.example.org`,
      ),
    );
    expect(matchOf(many, "https://app49998.example.org")).toBe("https://app49998.example.org");
    expect(matchOf(many, "https://app49999.example.org")).toBeNull();
    expect(matchOf(many, "https://x.y.tenant49999.example.com")).toBe("https://*.tenant49999.example.com");
    expect(matchOf(many, "https://tenant49999.example.com")).toBeNull();
    expect(matchOf(many, "https://x.tenant49998.example.com")).toBeNull();
  });
});

describe("expiry", () => {
  const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

  it("leaves out entries expired at compile time (expiresAt <= now)", () => {
    const compiled = compile([
      { pattern: "https://past.example.com", expiresAt: at(-1) },
      { pattern: "https://edge.example.com", expiresAt: at(0) },
      { pattern: "https://future.example.com", expiresAt: at(60_000) },
    ]);
    expect(matchOf(compiled, "https://past.example.com")).toBeNull();
    expect(matchOf(compiled, "https://edge.example.com")).toBeNull();
    expect(matchOf(compiled, "https://future.example.com")).toBe("https://future.example.com");
    expect(compiled.nextExpiryAt).toBe(NOW + 60_000);
  });

  it("re-checks expiry at match time when given the handshake's time (late recompiles do not extend access)", () => {
    const compiled = compile([{ pattern: "https://temp.example.com", expiresAt: at(1000) }]);
    expect(matchOf(compiled, "https://temp.example.com", NOW + 999)).toBe("https://temp.example.com");
    expect(matchOf(compiled, "https://temp.example.com", NOW + 1000)).toBeNull();
    expect(matchOf(compiled, "https://temp.example.com", Number.NaN)).toBeNull();
  });

  it("falls back to a less specific live entry when the specific one has lapsed", () => {
    const compiled = compile([{ pattern: "https://a.example.com", expiresAt: at(1000) }, "https://*.example.com"]);
    expect(matchOf(compiled, "https://a.example.com", NOW)).toBe("https://a.example.com");
    expect(matchOf(compiled, "https://a.example.com", NOW + 5000)).toBe("https://*.example.com");
  });

  it("applies to * and null entries too", () => {
    const compiled = compile([
      { pattern: "*", expiresAt: at(1000) },
      { pattern: "null", expiresAt: at(1000) },
    ]);
    expect(matchOf(compiled, "https://x.example", NOW)).toBe("*");
    expect(matchOf(compiled, "https://x.example", NOW + 1000)).toBeNull();
    expect(compiled.matchNull(NOW)).toBe("null");
    expect(compiled.matchNull(NOW + 1000)).toBeNull();
  });

  it("keeps the longest-lived of duplicate entries (unvalidated documents)", () => {
    const compiled = compile([
      { pattern: "https://a.example.com", expiresAt: at(1000) },
      { pattern: "https://A.example.com:443" },
      { pattern: "https://b.example.com", expiresAt: at(9000) },
      { pattern: "https://b.example.com", expiresAt: at(2000) },
    ]);
    expect(matchOf(compiled, "https://a.example.com", NOW + 1_000_000)).toBe("https://a.example.com");
    expect(matchOf(compiled, "https://b.example.com", NOW + 5000)).toBe("https://b.example.com");
    expect(compiled.nextExpiryAt).toBe(NOW + 1000);
  });

  it("has no nextExpiryAt when nothing expires in the future", () => {
    expect(
      compile(["https://a.example.com", { pattern: "https://b.example.com", expiresAt: at(-5) }]).nextExpiryAt,
    ).toBeNull();
  });

  it("a NaN compile time leaves every expiring entry out (fail closed)", () => {
    const compiled = compile(
      [{ pattern: "https://a.example.com", expiresAt: at(1000) }, "https://b.example.com"],
      Number.NaN,
    );
    expect(matchOf(compiled, "https://a.example.com")).toBeNull();
    expect(matchOf(compiled, "https://b.example.com")).toBe("https://b.example.com");
  });
});

describe("compilePolicy fails closed on a bad document", () => {
  it("skips invalid entries (they allow nothing) and reports them", () => {
    const compiled = compile([
      "https://*.com",
      "example.com",
      { pattern: "https://ok.example.com", expiresAt: "tomorrow" },
      { pattern: 42 as unknown as string },
      "https://good.example.com",
    ]);
    expect(compiled.skipped.map((entry) => entry.index)).toEqual([0, 1, 2, 3]);
    expect(matchOf(compiled, "https://ok.example.com")).toBeNull();
    expect(matchOf(compiled, "https://sub.com")).toBeNull();
    expect(matchOf(compiled, "https://good.example.com")).toBe("https://good.example.com");
  });

  it("does not throw on garbage and resolves unknown switches to the restrictive side", () => {
    const garbage = { mode: "loose", credentials: "maybe", token: 1, missingOrigin: "sure", origins: "nope" };
    const compiled = compilePolicy(garbage as unknown as CompilableDocument, NOW, { version: 1, tenant: "t" });
    expect(compiled.settings).toMatchObject({
      enforce: true,
      forbidCredentials: true,
      requireToken: true,
      allowMissingOrigin: false,
      requireSubprotocol: false,
    });
    expect(compiled.entries).toEqual([]);
  });

  it("never lists a bearer.* name as a usable subprotocol, but keeps the requirement", () => {
    const compiled = compile([], NOW, { subprotocols: ["bearer.x", "Bearer.y"] });
    expect(compiled.settings.subprotocols).toEqual([]);
    expect(compiled.settings.requireSubprotocol).toBe(true);
  });

  it("keeps version, tenant, time and secret", () => {
    const compiled = compilePolicy(defaultPolicyDocument(), NOW, { version: 3, tenant: "acme", tokenSecret: "s3cret" });
    expect(compiled).toMatchObject({ version: 3, tenant: "acme", compiledAt: NOW, tokenSecret: "s3cret" });
    expect(
      compilePolicy(defaultPolicyDocument(), NOW, { version: 3, tenant: "acme", tokenSecret: "" }).tokenSecret,
    ).toBeNull();
  });
});
