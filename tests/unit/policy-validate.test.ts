/**
 * validatePolicy / normalizePolicyDocument / parseExpiry: the boundary check on policy
 * documents coming in as unknown JSON, with paths the API returns as 422 details.
 *
 * Sources: SPEC §4.2-4.3 and §10; RFC 6455 §4.1 + RFC 7230 §3.2.6 (subprotocol names are
 * `token`s); the Fetch standard's CORS rule that `*` never goes with credentials;
 * PortSwigger "Exploiting CORS misconfigurations" (null origin reachable via sandboxed
 * iframes; plain-http origins are attackable by a network attacker); RFC 3339 (date-time
 * with an offset).
 */
import { describe, expect, it } from "vitest";
import {
  defaultPolicyDocument,
  normalizePolicyDocument,
  type PolicyIssue,
  parseExpiry,
  validatePolicy,
} from "../../server/policy";

const NOW = new Date(Date.UTC(2030, 0, 1));

function doc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...defaultPolicyDocument(), ...overrides };
}

function issuesAt(issues: PolicyIssue[], path: string, severity?: "error" | "warning"): PolicyIssue[] {
  return issues.filter((issue) => issue.path === path && (severity === undefined || issue.severity === severity));
}

function expectIssue(document: unknown, path: string, severity: "error" | "warning", messagePart: string, now?: Date) {
  const found = issuesAt(validatePolicy(document, now), path, severity);
  expect(found.map((issue) => issue.message).join(" | ")).toContain(messagePart);
}

describe("validatePolicy: a clean document has no issues", () => {
  it("the default document", () => {
    expect(validatePolicy(defaultPolicyDocument(), NOW)).toEqual([]);
  });

  it("a realistic document", () => {
    const document = doc({
      origins: [
        { pattern: "https://app.example.com", note: "main app", expiresAt: null },
        { pattern: "https://*.preview.example.com", expiresAt: "2031-06-30T00:00:00Z" },
        { pattern: "http://localhost:*" },
        { pattern: "capacitor://localhost" },
      ],
      token: "required",
      subprotocols: ["graphql-transport-ws", "v1.chat+json"],
      version: 4,
    });
    expect(validatePolicy(document, NOW)).toEqual([]);
  });
});

describe("validatePolicy: shape", () => {
  it.each([null, [], "policy", 42, undefined])("refuses a non-object document %j", (value) => {
    expect(validatePolicy(value)).toEqual([
      { path: "", message: expect.stringContaining("object"), severity: "error" },
    ]);
  });

  it("refuses unknown fields (a typo must not fall back to a default), tolerates version", () => {
    expectIssue(doc({ credential: "allow" }), "credential", "error", "unknown field");
    expect(validatePolicy(doc({ version: 3 }))).toEqual([]);
  });

  it.each([
    ["mode", "strict"],
    ["credentials", "yes"],
    ["token", true],
    ["missingOrigin", "ALLOW"],
  ])("refuses %s = %j", (path, value) => {
    expectIssue(doc({ [path]: value }), path, "error", "must be one of");
  });

  it("gives a field left out its default, the restrictive side (an empty document refuses every browser)", () => {
    expect(validatePolicy({})).toEqual([]);
    expect(normalizePolicyDocument({})).toEqual(defaultPolicyDocument());
    expect(normalizePolicyDocument({ limits: { maxConnections: 5 } }).limits).toEqual({
      ...defaultPolicyDocument().limits,
      maxConnections: 5,
    });
  });

  it("refuses an own __proto__ or constructor key as an unknown field (JSON.parse makes them own keys)", () => {
    const document = JSON.parse('{"limits":{"__proto__":{"maxConnections":1},"constructor":1},"__proto__":{}}');
    expectIssue(document, "limits.__proto__", "error", "unknown field");
    expectIssue(document, "limits.constructor", "error", "unknown field");
    expectIssue(document, "__proto__", "error", "unknown field");
  });

  it("checks each origin entry's shape", () => {
    const document = doc({
      origins: [
        "https://a.example.com",
        { pattern: 5 },
        { pattern: "https://b.example.com", note: 7 },
        { pattern: "https://c.example.com", note: "x".repeat(501) },
        { pattern: "https://d.example.com", comment: "hi" },
        { pattern: "https://e.example.com", note: "x".repeat(500) },
      ],
    });
    const issues = validatePolicy(document);
    expect(issuesAt(issues, "origins[0]", "error")).toHaveLength(1);
    expect(issuesAt(issues, "origins[1].pattern", "error")).toHaveLength(1);
    expect(issuesAt(issues, "origins[2].note", "error")).toHaveLength(1);
    expect(issuesAt(issues, "origins[3].note", "error")[0]?.message).toContain("500");
    expect(issuesAt(issues, "origins[4].comment", "error")).toHaveLength(1);
    expect(issues.filter((issue) => issue.path.startsWith("origins[5]"))).toEqual([]);
  });

  it("refuses more than 100,000 entries", () => {
    const origins = Array.from({ length: 100_001 }, (_, index) => ({ pattern: `https://a${index}.example.com` }));
    expectIssue(doc({ origins }), "origins", "error", "too many");
  });
});

describe("validatePolicy: patterns", () => {
  it("reports the parser's message at the entry's path", () => {
    expectIssue(doc({ origins: [{ pattern: "https://*.com" }] }), "origins[0].pattern", "error", "public suffix");
    expectIssue(doc({ origins: [{ pattern: "example.com" }] }), "origins[0].pattern", "error", "https://example.com");
  });

  it("refuses duplicates after normalisation, pointing at the first", () => {
    const document = doc({
      origins: [
        { pattern: "https://app.example.com" },
        { pattern: "HTTPS://App.Example.com:443" },
        { pattern: "*" },
        { pattern: " * " },
      ],
    });
    expectIssue(document, "origins[1].pattern", "error", "duplicate of origins[0]");
    expectIssue(document, "origins[3].pattern", "error", "duplicate of origins[2]");
    expect(issuesAt(validatePolicy(document), "origins[0].pattern", "error")).toEqual([]);
  });

  it('refuses "*" with credentials: allow; warns about it otherwise', () => {
    expectIssue(
      doc({ origins: [{ pattern: "*" }], credentials: "allow" }),
      "origins[0].pattern",
      "error",
      "credentials",
    );
    expectIssue(doc({ origins: [{ pattern: "*" }] }), "origins[0].pattern", "warning", "every website");
    expectIssue(
      doc({ origins: [{ pattern: "*" }], token: "required" }),
      "origins[0].pattern",
      "warning",
      "only the token",
    );
  });

  it('warns about "null" unless a token is required', () => {
    expectIssue(doc({ origins: [{ pattern: "null" }] }), "origins[0].pattern", "warning", "sandbox");
    expect(
      issuesAt(validatePolicy(doc({ origins: [{ pattern: "null" }], token: "required" })), "origins[0].pattern"),
    ).toEqual([]);
  });

  it("warns about plain http origins except loopback", () => {
    expectIssue(
      doc({ origins: [{ pattern: "http://app.example.com" }] }),
      "origins[0].pattern",
      "warning",
      "plain http://",
    );
    expectIssue(
      doc({ origins: [{ pattern: "http://*.example.com" }] }),
      "origins[0].pattern",
      "warning",
      "plain http://",
    );
    expectIssue(
      doc({ origins: [{ pattern: "http://10.0.0.5:8080" }] }),
      "origins[0].pattern",
      "warning",
      "plain http://",
    );
    for (const local of [
      "http://localhost:3000",
      "http://127.0.0.1:5173",
      "http://[::1]:8080",
      "http://*.localhost",
      "http://app.localhost",
    ]) {
      expect(validatePolicy(doc({ origins: [{ pattern: local }] }))).toEqual([]);
    }
  });

  it("warns about any-port entries on non-loopback hosts", () => {
    expectIssue(
      doc({ origins: [{ pattern: "https://app.example.com:*" }] }),
      "origins[0].pattern",
      "warning",
      "any port",
    );
    expect(validatePolicy(doc({ origins: [{ pattern: "http://localhost:*" }] }))).toEqual([]);
  });

  it("does not flag an ordinary wildcard on a registrable domain", () => {
    expect(
      validatePolicy(
        doc({ origins: [{ pattern: "https://*.example.com" }, { pattern: "https://*.alice.github.io" }] }),
      ),
    ).toEqual([]);
  });

  it("warns about entries already covered by a wildcard, an any-port entry or *", () => {
    const document = doc({
      origins: [
        { pattern: "https://*.example.com" },
        { pattern: "https://a.b.example.com" },
        { pattern: "https://*.b.example.com" },
        { pattern: "https://example.com" },
        { pattern: "http://a.example.com" },
        { pattern: "https://a.example.com:8443" },
        { pattern: "https://dev.example.net:*" },
        { pattern: "https://dev.example.net:3000" },
      ],
    });
    const issues = validatePolicy(document);
    // The most specific coverer is named, by its pattern (not its index, which moves): *.b.example.com for a.b.example.com.
    expect(issuesAt(issues, "origins[1].pattern", "warning")[0]?.message).toBe(
      "already covered by https://*.b.example.com; this entry changes nothing",
    );
    expect(issuesAt(issues, "origins[2].pattern", "warning")[0]?.message).toContain(
      "covered by https://*.example.com;",
    );
    expect(issuesAt(issues, "origins[3].pattern")).toEqual([]); // the apex is not covered
    expect(issuesAt(issues, "origins[4].pattern").some((issue) => issue.message.includes("covered"))).toBe(false);
    expect(issuesAt(issues, "origins[5].pattern")).toEqual([]); // other port
    expect(
      issuesAt(issues, "origins[7].pattern", "warning").some((issue) =>
        issue.message.includes("covered by https://dev.example.net:*;"),
      ),
    ).toBe(true);
  });

  it("does not call an entry redundant when its coverer expires first", () => {
    const document = doc({
      origins: [
        { pattern: "https://*.example.com", expiresAt: "2030-06-01T00:00:00Z" },
        { pattern: "https://a.example.com" },
        { pattern: "https://b.example.com", expiresAt: "2030-05-01T00:00:00Z" },
      ],
    });
    const issues = validatePolicy(document, NOW);
    expect(issuesAt(issues, "origins[1].pattern")).toEqual([]);
    expect(issuesAt(issues, "origins[2].pattern", "warning")[0]?.message).toContain(
      "covered by https://*.example.com;",
    );
  });
});

describe("validatePolicy: expiry", () => {
  it("refuses dates that are not ISO 8601 with a time zone", () => {
    for (const expiresAt of ["tomorrow", "2030-01-01", "2030-01-01T10:00:00", "2030-02-30T00:00:00Z", 1893456000000]) {
      expectIssue(
        doc({ origins: [{ pattern: "https://a.example.com", expiresAt }] }),
        "origins[0].expiresAt",
        "error",
        "ISO 8601",
      );
    }
  });

  it("warns about entries that have already expired (only when told the time)", () => {
    const document = doc({ origins: [{ pattern: "https://a.example.com", expiresAt: "2029-12-31T23:59:59Z" }] });
    expectIssue(document, "origins[0].expiresAt", "warning", "expired", NOW);
    expect(validatePolicy(document)).toEqual([]);
    const exactlyNow = doc({ origins: [{ pattern: "https://a.example.com", expiresAt: NOW.toISOString() }] });
    expectIssue(exactlyNow, "origins[0].expiresAt", "warning", "expired", NOW);
  });
});

describe("validatePolicy: subprotocols", () => {
  it.each([
    ["has space", "not a valid subprotocol"],
    ["a,b", "not a valid subprotocol"],
    ["chat/v1", "not a valid subprotocol"],
    ["", "non-empty"],
    ["bearer.x", "reserved"],
    ["Bearer.x", "reserved"],
    ["x".repeat(129), "longer than"],
  ])("refuses %j", (name, messagePart) => {
    expectIssue(doc({ subprotocols: [name] }), "subprotocols[0]", "error", messagePart);
  });

  it("refuses duplicates and non-lists", () => {
    expectIssue(doc({ subprotocols: ["v1", "v1"] }), "subprotocols[1]", "error", "twice");
    expectIssue(doc({ subprotocols: "v1" }), "subprotocols", "error", "list");
  });

  it("accepts RFC 7230 token characters", () => {
    expect(validatePolicy(doc({ subprotocols: ["mqtt", "v10.stomp", "a!#$%&'*+-.^_`|~z"] }))).toEqual([]);
  });
});

describe("validatePolicy: limits", () => {
  it.each([
    ["maxMessageBytes", 0, "from 1"],
    ["maxMessageBytes", 104_857_601, "to 104857600"],
    ["idleTimeoutSeconds", 1.5, "integer"],
    ["maxConnections", -1, "from 1"],
    ["handshakesPerMinutePerIp", "600", "integer"],
    ["handshakesPerMinutePerIp", Number.NaN, "integer"],
    ["maxConnectionsPerIp", 0, "from 1 to 1000000"],
    ["maxConnectionsPerIp", -5, "from 1 to 1000000"],
    ["maxConnectionsPerIp", 1_000_001, "from 1 to 1000000"],
    ["maxConnectionsPerIp", 2.5, "integer"],
    ["maxConnectionsPerIp", "100", "integer"],
    ["maxConnectionsPerIp", null, "integer"],
  ])("refuses %s = %j", (key, value, messagePart) => {
    const document = doc({ limits: { ...defaultPolicyDocument().limits, [key]: value } });
    expectIssue(document, `limits.${key}`, "error", messagePart);
  });

  it("accepts maxConnectionsPerIp at both ends of its range, and takes its default (100) when left out", () => {
    for (const value of [1, 1_000_000]) {
      expect(
        validatePolicy(doc({ limits: { ...defaultPolicyDocument().limits, maxConnectionsPerIp: value } })),
      ).toEqual([]);
    }
    expect(normalizePolicyDocument({ limits: { maxConnections: 5 } }).limits.maxConnectionsPerIp).toBe(100);
  });

  it("refuses unknown limits and a limits value that is not an object", () => {
    expectIssue(doc({ limits: { ...defaultPolicyDocument().limits, burst: 3 } }), "limits.burst", "error", "unknown");
    expectIssue(doc({ limits: null }), "limits", "error", "must be an object");
  });
});

describe("validatePolicy: cors (SPEC §4.6; Fetch's forbidden methods and headers, as jub0bs/cors refuses them)", () => {
  function withCors(cors: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
    return doc({ cors: { ...defaultPolicyDocument().cors, ...cors }, ...overrides });
  }
  /** Only the cors section's issues (credentials: allow adds its own warning about tokens). */
  function corsIssues(document: unknown): PolicyIssue[] {
    return validatePolicy(document).filter((issue) => issue.path.startsWith("cors"));
  }

  it.each(["CONNECT", "TRACE", "TRACK", "connect", "Trace", "track"])(
    "refuses the forbidden method %s (compared case-insensitively)",
    (method) => {
      expect(corsIssues(withCors({ methods: ["GET", method] }))).toEqual([
        { path: "cors.methods[1]", message: expect.stringContaining("forbidden method"), severity: "error" },
      ]);
    },
  );

  it.each([
    "Cookie",
    "cookie",
    "Cookie2",
    "Host",
    "Origin",
    "Content-Length",
    "Transfer-Encoding",
    "Access-Control-Request-Headers",
    "Proxy-Authorization",
    "proxy-anything",
    "Sec-Fetch-Site",
    "SEC-WebSocket-Key",
  ])("refuses the forbidden request header %s in allowHeaders", (header) => {
    expect(corsIssues(withCors({ allowHeaders: ["X-Requested-With", header] }))).toEqual([
      { path: "cors.allowHeaders[1]", message: expect.stringContaining("forbidden request header"), severity: "error" },
    ]);
  });

  it("a prefix is forbidden only with its dash: Secret-Token and Proxyish are ordinary headers", () => {
    expect(corsIssues(withCors({ allowHeaders: ["Secret-Token", "Proxyish", "Authorization"] }))).toEqual([]);
  });

  it.each(["Set-Cookie", "set-cookie", "Set-Cookie2"])("refuses %s in exposeHeaders (never exposed)", (header) => {
    expect(corsIssues(withCors({ exposeHeaders: ["X-Request-Id", header] }))).toEqual([
      { path: "cors.exposeHeaders[1]", message: expect.stringContaining("never exposed"), severity: "error" },
    ]);
  });

  it("Set-Cookie in allowHeaders is a forbidden request header too", () => {
    expectIssue(
      withCors({ allowHeaders: ["Set-Cookie"] }),
      "cors.allowHeaders[0]",
      "error",
      "forbidden request header",
    );
  });

  it.each(["methods", "allowHeaders", "exposeHeaders"])(
    '"*" in %s is refused with credentials: allow, accepted with credentials: forbid',
    (key) => {
      const list = key === "methods" ? ["GET", "*"] : ["X-Trace", "*"];
      expect(corsIssues(withCors({ [key]: list }, { credentials: "allow" }))).toEqual([
        {
          path: `cors.${key}[1]`,
          message: expect.stringContaining(`"*" in ${key} is ignored by browsers when credentials are allowed`),
          severity: "error",
        },
      ]);
      expect(corsIssues(withCors({ [key]: list }, { credentials: "forbid" }))).toEqual([]);
    },
  );

  it("reports every bad entry at its own path, in one pass", () => {
    const issues = corsIssues(
      withCors(
        {
          methods: ["TRACE", "*", "PATCH"],
          allowHeaders: ["Cookie", "*"],
          exposeHeaders: ["Set-Cookie", "*"],
          maxAgeSeconds: 86_401,
        },
        { credentials: "allow" },
      ),
    );
    expect(issues.map((issue) => [issue.path, issue.severity])).toEqual([
      ["cors.maxAgeSeconds", "error"],
      ["cors.methods[0]", "error"],
      ["cors.methods[1]", "error"],
      ["cors.allowHeaders[0]", "error"],
      ["cors.allowHeaders[1]", "error"],
      ["cors.exposeHeaders[0]", "error"],
      ["cors.exposeHeaders[1]", "error"],
    ]);
  });

  it.each([
    [86_401, "at most 86400"],
    [1_000_000, "at most 86400"],
    [-1, "at least 0"],
    [1.5, "integer"],
    ["600", "integer"],
  ])("refuses maxAgeSeconds = %j", (maxAgeSeconds, messagePart) => {
    expectIssue(withCors({ maxAgeSeconds }), "cors.maxAgeSeconds", "error", messagePart);
  });

  it.each([0, 600, 86_400])("accepts maxAgeSeconds = %j", (maxAgeSeconds) => {
    expect(corsIssues(withCors({ maxAgeSeconds }))).toEqual([]);
  });

  it("accepts valid configurations, with and without credentials", () => {
    const realistic = {
      methods: ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "PROPFIND"],
      allowHeaders: ["Authorization", "Content-Type", "X-Requested-With", "Last-Event-ID"],
      exposeHeaders: ["X-Request-Id", "ETag", "Retry-After"],
      maxAgeSeconds: 7200,
    };
    const origins = [{ pattern: "https://app.example.com" }];
    expect(validatePolicy(withCors(realistic, { origins, credentials: "allow", token: "required" }))).toEqual([]);
    expect(validatePolicy(withCors(realistic, { origins }))).toEqual([]);
    expect(validatePolicy(withCors({ methods: ["*"], allowHeaders: ["*"], exposeHeaders: ["*"] }))).toEqual([]);
    expect(validatePolicy(withCors({ methods: [], allowHeaders: [], exposeHeaders: [] }))).toEqual([]);
    expect(validatePolicy(doc({ cors: {} }))).toEqual([]); // every field takes its default
  });

  it("refuses shapes the schema does not allow: unknown fields, non-tokens, duplicates, non-lists", () => {
    expectIssue(withCors({ allowCredentials: true }), "cors.allowCredentials", "error", "unknown field");
    expectIssue(withCors({ methods: ["GET POST"] }), "cors.methods[0]", "error", "not a valid method name");
    expectIssue(withCors({ allowHeaders: ["X-A", "x-a"] }), "cors.allowHeaders[1]", "error", "twice");
    expectIssue(withCors({ exposeHeaders: "X-A" }), "cors.exposeHeaders", "error", "list");
    expectIssue(doc({ cors: null }), "cors", "error", "must be an object");
  });
});

describe("validatePolicy: switches", () => {
  it("warns about missingOrigin: allow without a token", () => {
    expectIssue(doc({ missingOrigin: "allow" }), "missingOrigin", "warning", "token");
    expect(issuesAt(validatePolicy(doc({ missingOrigin: "allow", token: "required" })), "missingOrigin")).toEqual([]);
  });

  it("warns about report-only mode", () => {
    expectIssue(doc({ mode: "report-only" }), "mode", "warning", "nothing is enforced");
  });

  it("warns about credentials: allow without a token", () => {
    expectIssue(doc({ credentials: "allow" }), "credentials", "warning", "hijacking");
    expect(issuesAt(validatePolicy(doc({ credentials: "allow", token: "required" })), "credentials")).toEqual([]);
  });
});

describe("normalizePolicyDocument", () => {
  it("normalises patterns and expiries, keeps order and notes, drops unknown fields", () => {
    const input: Record<string, unknown> & { limits: unknown } = {
      ...defaultPolicyDocument(),
      version: 9,
      origins: [
        { pattern: " HTTPS://B.example.com:443 ", note: "b" },
        { pattern: "https://*.Example.com", expiresAt: "2030-01-01T02:00:00+02:00" },
        { pattern: "not a pattern" },
      ],
    };
    const normalized = normalizePolicyDocument(input);
    expect(normalized.origins).toEqual([
      { pattern: "https://b.example.com", note: "b", expiresAt: null },
      { pattern: "https://*.example.com", note: null, expiresAt: "2030-01-01T00:00:00.000Z" },
      { pattern: "not a pattern", note: null, expiresAt: null },
    ]);
    expect("version" in normalized).toBe(false);
    expect(normalized.limits).toEqual(input.limits);
    expect(normalized.limits).not.toBe(input.limits);
  });

  it("is idempotent", () => {
    const once = normalizePolicyDocument({
      ...defaultPolicyDocument(),
      origins: [{ pattern: "HTTP://LOCALHOST:*", expiresAt: "2030-01-01t00:00z" }],
    });
    expect(normalizePolicyDocument(once)).toEqual(once);
  });
});

describe("parseExpiry", () => {
  it.each([
    ["2030-01-01T00:00:00Z", Date.UTC(2030, 0, 1)],
    ["2030-01-01T00:00Z", Date.UTC(2030, 0, 1)],
    ["2030-01-01t00:00:00z", Date.UTC(2030, 0, 1)],
    ["2030-01-01T02:00:00+02:00", Date.UTC(2030, 0, 1)],
    ["2029-12-31T19:00:00-05:00", Date.UTC(2030, 0, 1)],
    ["2030-01-01T00:00:00.123456Z", Date.UTC(2030, 0, 1) + 123],
    ["2028-02-29T00:00:00Z", Date.UTC(2028, 1, 29)],
  ])("%s", (text, expected) => {
    expect(parseExpiry(text)).toBe(expected);
  });

  it.each([
    "2030-01-01",
    "2030-01-01T00:00:00",
    "2030-02-30T00:00:00Z",
    "2029-02-29T00:00:00Z",
    "2030-13-01T00:00:00Z",
    "2030-01-01T24:00:00Z",
    "2030-01-01T23:59:60Z",
    "2030-01-01T00:00:00+24:00",
    "1969-12-31T23:59:59Z",
    " 2030-01-01T00:00:00Z",
    "tomorrow",
  ])("refuses %j", (text) => {
    expect(parseExpiry(text)).toBeNull();
  });

  it("refuses non-strings", () => {
    expect(parseExpiry(1_893_456_000_000)).toBeNull();
    expect(parseExpiry(null)).toBeNull();
  });
});
