/**
 * decideCors (SPEC §4.6): actual requests and preflights, every reason code, the exact
 * response headers, report-only, and properties that tie the HTTP decision to the
 * WebSocket one (one parser, one matcher).
 *
 * Sources: the Fetch standard (CORS protocol, CORS-preflight fetch, "Authorization is not
 * covered by *", method normalisation); jub0bs/cors middleware_test.go and config checks
 * (Vary on every response, ACAO never `*` with credentials, ACAC exactly "true"); PortSwigger,
 * "Exploiting CORS misconfigurations" (reflected origins, `null` with credentials,
 * prefix/suffix lookalikes).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ACAC,
  ACAH,
  ACAM,
  ACAO,
  ACEH,
  ACMA,
  type CompilableDocument,
  type CompiledPolicy,
  type CorsRequest,
  compilePolicy,
  decideCors,
  decideHandshake,
  defaultPolicyDocument,
  explainCors,
  isCorsPreflight,
  normalizePolicyDocument,
  type Reason,
  VARY,
  VARY_ACTUAL,
  VARY_PREFLIGHT,
} from "../../server/policy";

const NOW = Date.UTC(2030, 0, 1);
const APP = "https://app.example.com";

function policy(overrides: Partial<CompilableDocument> = {}): CompiledPolicy {
  const document: CompilableDocument = {
    ...defaultPolicyDocument(),
    origins: [{ pattern: APP }, { pattern: "https://*.example.org" }],
    ...overrides,
  };
  return compilePolicy(document, NOW, { version: 7, tenant: "acme", tokenSecret: null });
}

const cors = (changes: Partial<CompilableDocument["cors"]>) => ({ ...defaultPolicyDocument().cors, ...changes });

function actual(overrides: Partial<CorsRequest> = {}): CorsRequest {
  return { method: "GET", origin: APP, now: NOW, ...overrides };
}

function preflight(method: string, headers?: string, overrides: Partial<CorsRequest> = {}): CorsRequest {
  return {
    method: "OPTIONS",
    origin: APP,
    requestMethod: method,
    ...(headers === undefined ? {} : { requestHeaders: headers }),
    now: NOW,
    ...overrides,
  };
}

describe("isCorsPreflight", () => {
  it.each([
    ["OPTIONS", "PUT", true],
    ["OPTIONS", "", true],
    ["OPTIONS", undefined, false],
    ["options", "PUT", false],
    ["GET", "PUT", false],
  ] as const)("%s with ACRM %j → %s", (method, acrm, expected) => {
    expect(isCorsPreflight(method, acrm)).toBe(expected);
  });
});

type Row = [
  name: string,
  compiled: () => CompiledPolicy,
  request: CorsRequest,
  reason: Reason,
  allowed: boolean,
  status: number,
  headers: Record<string, string>,
];

const credentialed = () => policy({ credentials: "allow" });
const exposing = () => policy({ cors: cors({ exposeHeaders: ["x-request-id", "x-total"] }) });
const any = () => policy({ origins: [{ pattern: "*" }] });
const withNull = () => policy({ origins: [{ pattern: "null" }] });
const putPolicy = () =>
  policy({
    cors: cors({ methods: ["GET", "PUT", "PURGE"], allowHeaders: ["x-custom", "content-type"], maxAgeSeconds: 120 }),
  });
const anyHeader = () => policy({ cors: cors({ allowHeaders: ["*"] }) });
const anyHeaderAuth = () => policy({ cors: cors({ allowHeaders: ["*", "authorization"] }) });
const anyMethod = () => policy({ cors: cors({ methods: ["*"] }) });
const allowAuth = () => policy({ credentials: "allow", cors: cors({ allowHeaders: ["Authorization"] }) });

const ROWS: Row[] = [
  // Actual requests.
  [
    "no Origin: not CORS, passes, only Vary",
    policy,
    actual({ origin: undefined }),
    "allowed",
    true,
    200,
    { [VARY]: "Origin" },
  ],
  [
    "no Origin, POST with a method the policy does not list: still passes (not CORS)",
    () => policy({ cors: cors({ methods: ["GET"] }) }),
    actual({ origin: undefined, method: "DELETE" }),
    "allowed",
    true,
    200,
    { [VARY]: "Origin" },
  ],
  [
    "allowed exact origin, credentials forbid: ACAO = origin, no ACAC",
    policy,
    actual(),
    "allowed",
    true,
    200,
    { [ACAO]: APP, [VARY]: "Origin" },
  ],
  [
    "allowed wildcard origin: ACAO is the origin as sent, never the pattern",
    policy,
    actual({ origin: "https://a.b.example.org" }),
    "allowed",
    true,
    200,
    { [ACAO]: "https://a.b.example.org", [VARY]: "Origin" },
  ],
  [
    "credentials allow: ACAC exactly true",
    credentialed,
    actual(),
    "allowed",
    true,
    200,
    { [ACAO]: APP, [ACAC]: "true", [VARY]: "Origin" },
  ],
  [
    "expose headers listed",
    exposing,
    actual(),
    "allowed",
    true,
    200,
    { [ACAO]: APP, [ACEH]: "x-request-id, x-total", [VARY]: "Origin" },
  ],
  [
    "* pattern, credentials forbid: ACAO *",
    any,
    actual({ origin: "https://anyone.net" }),
    "allowed",
    true,
    200,
    { [ACAO]: "*", [VARY]: "Origin" },
  ],
  [
    "null pattern: ACAO null",
    withNull,
    actual({ origin: "null" }),
    "allowed",
    true,
    200,
    { [ACAO]: "null", [VARY]: "Origin" },
  ],
  [
    "origin not allowed: 403, only Vary",
    policy,
    actual({ origin: "https://evil.net" }),
    "origin_not_allowed",
    false,
    403,
    { [VARY]: "Origin" },
  ],
  [
    "suffix lookalike refused",
    policy,
    actual({ origin: "https://app.example.com.evil.net" }),
    "origin_not_allowed",
    false,
    403,
    { [VARY]: "Origin" },
  ],
  [
    "prefix lookalike refused",
    policy,
    actual({ origin: "https://evilexample.org" }),
    "origin_not_allowed",
    false,
    403,
    { [VARY]: "Origin" },
  ],
  ["null without null pattern", policy, actual({ origin: "null" }), "origin_null", false, 403, { [VARY]: "Origin" }],
  [
    "malformed origin (path)",
    policy,
    actual({ origin: `${APP}/` }),
    "origin_malformed",
    false,
    403,
    { [VARY]: "Origin" },
  ],
  ["two Origin lines", policy, actual({ origin: [APP, APP] }), "origin_malformed", false, 403, { [VARY]: "Origin" }],
  ["* never covers null", any, actual({ origin: "null" }), "origin_null", false, 403, { [VARY]: "Origin" }],
  [
    "actual method not in cors.methods",
    policy,
    actual({ method: "DELETE" }),
    "cors_method_not_allowed",
    false,
    403,
    { [VARY]: "Origin" },
  ],
  [
    "actual method compared case-sensitively",
    policy,
    actual({ method: "post" }),
    "cors_method_not_allowed",
    false,
    403,
    { [VARY]: "Origin" },
  ],
  // Preflights.
  [
    "preflight ok: 204 with methods, headers, max age",
    putPolicy,
    preflight("PUT", "x-custom"),
    "allowed",
    true,
    204,
    {
      [ACAO]: APP,
      [ACAM]: "GET, PUT, PURGE",
      [ACAH]: "x-custom, content-type",
      [ACMA]: "120",
      [VARY]: VARY_PREFLIGHT,
    },
  ],
  [
    "preflight header names compared case-insensitively, with OWS and several lines",
    putPolicy,
    preflight("PUT", undefined, { requestHeaders: ["X-Custom ,  Content-Type", ""] }),
    "allowed",
    true,
    204,
    {
      [ACAO]: APP,
      [ACAM]: "GET, PUT, PURGE",
      [ACAH]: "x-custom, content-type",
      [ACMA]: "120",
      [VARY]: VARY_PREFLIGHT,
    },
  ],
  [
    "preflight without headers, policy lists none: no ACAH",
    policy,
    preflight("POST"),
    "allowed",
    true,
    204,
    { [ACAO]: APP, [ACAM]: "GET, HEAD, POST", [ACMA]: "600", [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight credentialed: ACAC true",
    allowAuth,
    preflight("GET", "authorization"),
    "allowed",
    true,
    204,
    {
      [ACAO]: APP,
      [ACAC]: "true",
      [ACAM]: "GET, HEAD, POST",
      [ACAH]: "authorization",
      [ACMA]: "600",
      [VARY]: VARY_PREFLIGHT,
    },
  ],
  [
    "preflight method not allowed: 403, no grant at all",
    policy,
    preflight("PUT"),
    "cors_method_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight method case-sensitive (purge ≠ PURGE)",
    putPolicy,
    preflight("purge"),
    "cors_method_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight with two ACRM lines",
    policy,
    preflight("GET", undefined, { requestMethod: ["GET", "PUT"] }),
    "cors_method_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight header not allowed",
    putPolicy,
    preflight("PUT", "x-custom,x-other"),
    "cors_header_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight malformed header list",
    putPolicy,
    preflight("PUT", "x-custom;evil"),
    "cors_header_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "* in allowHeaders covers custom headers",
    anyHeader,
    preflight("GET", "x-anything"),
    "allowed",
    true,
    204,
    { [ACAO]: APP, [ACAM]: "GET, HEAD, POST", [ACAH]: "*", [ACMA]: "600", [VARY]: VARY_PREFLIGHT },
  ],
  [
    "* in allowHeaders never covers Authorization",
    anyHeader,
    preflight("GET", "authorization"),
    "cors_header_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "Authorization allowed next to * when named",
    anyHeaderAuth,
    preflight("GET", "authorization,x-y"),
    "allowed",
    true,
    204,
    { [ACAO]: APP, [ACAM]: "GET, HEAD, POST", [ACAH]: "*, authorization", [ACMA]: "600", [VARY]: VARY_PREFLIGHT },
  ],
  [
    "* in methods, credentials forbid: any method",
    anyMethod,
    preflight("PATCH"),
    "allowed",
    true,
    204,
    { [ACAO]: APP, [ACAM]: "*", [ACMA]: "600", [VARY]: VARY_PREFLIGHT },
  ],
  [
    "* in methods with credentials allow (not validatable) matches nothing: fail closed",
    () => policy({ credentials: "allow", cors: cors({ methods: ["*"] }) }),
    preflight("PATCH"),
    "cors_method_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight from a refused origin: only Vary",
    putPolicy,
    preflight("PUT", "x-custom", { origin: "https://evil.net" }),
    "origin_not_allowed",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight without Origin",
    policy,
    preflight("GET", undefined, { origin: undefined }),
    "origin_missing",
    false,
    403,
    { [VARY]: VARY_PREFLIGHT },
  ],
  [
    "preflight from * pattern: ACAO *",
    any,
    preflight("POST", undefined, { origin: "https://x.net" }),
    "allowed",
    true,
    204,
    { [ACAO]: "*", [ACAM]: "GET, HEAD, POST", [ACMA]: "600", [VARY]: VARY_PREFLIGHT },
  ],
  [
    "max age 0 is sent as 0",
    () => policy({ cors: cors({ maxAgeSeconds: 0 }) }),
    preflight("GET"),
    "allowed",
    true,
    204,
    { [ACAO]: APP, [ACAM]: "GET, HEAD, POST", [ACMA]: "0", [VARY]: VARY_PREFLIGHT },
  ],
];

describe("decideCors: reasons, statuses and the exact headers", () => {
  it.each(ROWS)("%s", (_name, compiled, request, reason, allowed, status, headers) => {
    const decision = decideCors(compiled(), request);
    expect(decision.reason).toBe(reason);
    expect(decision.allowed).toBe(allowed);
    expect(decision.status).toBe(status);
    expect(decision.headers).toEqual(headers);
    expect(decision.policyVersion).toBe(7);
    expect(decision.enforced).toBe(true);
  });

  it("report-only: nothing refused, the would-be reason kept, no extra grant", () => {
    const compiled = policy({ mode: "report-only" });
    const refusedOrigin = decideCors(compiled, actual({ origin: "https://evil.net" }));
    expect(refusedOrigin).toMatchObject({
      allowed: true,
      enforced: false,
      reason: "origin_not_allowed",
      wouldReject: "origin_not_allowed",
      status: 200,
    });
    expect(refusedOrigin.headers).toEqual({ [VARY]: VARY_ACTUAL });
    const refusedPreflight = decideCors(compiled, preflight("PUT"));
    expect(refusedPreflight).toMatchObject({ allowed: true, status: 204, wouldReject: "cors_method_not_allowed" });
    expect(refusedPreflight.headers[ACAM]).toBe("GET, HEAD, POST");
    expect(refusedPreflight.headers[ACMA]).toBeUndefined();
    const passing = decideCors(compiled, actual());
    expect(passing).toMatchObject({ allowed: true, enforced: false, reason: "allowed" });
    expect(passing.wouldReject).toBeUndefined();
  });

  it("credentials: allow never reaches an entry credentials are withheld from (a wildcard over public suffixes)", () => {
    // Not savable (validatePolicy refuses it), but a stored policy may predate the rule.
    const compiled = policy({
      credentials: "allow",
      origins: [{ pattern: "https://*.amazonaws.com" }, { pattern: APP }],
    });
    const bucket = decideCors(compiled, actual({ origin: "https://attacker-bucket.s3.amazonaws.com" }));
    expect(bucket.allowed).toBe(true);
    expect(bucket.headers[ACAO]).toBe("https://attacker-bucket.s3.amazonaws.com");
    expect(bucket.headers[ACAC]).toBeUndefined();
    expect(decideCors(compiled, actual()).headers[ACAC]).toBe("true");
  });

  it("an expired entry no longer grants anything (the matcher's own time check)", () => {
    const compiled = policy({ origins: [{ pattern: APP, expiresAt: new Date(NOW + 1000).toISOString() }] });
    expect(decideCors(compiled, actual({ now: NOW })).allowed).toBe(true);
    expect(decideCors(compiled, actual({ now: NOW + 1000 })).reason).toBe("origin_not_allowed");
  });

  it("fails closed on a broken compiled policy, even in report-only", () => {
    const compiled = policy({ mode: "report-only" });
    const broken = {
      ...compiled,
      match: () => {
        throw new Error("boom");
      },
    } as CompiledPolicy;
    const decision = decideCors(broken, actual());
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toBe("gateway_unavailable");
    expect(decision.status).toBe(503);
    expect(decision.enforced).toBe(true);
    expect(decision.headers).toEqual({ [VARY]: VARY_ACTUAL });
  });

  it("an unvalidated document without a cors section allows no method (fail closed)", () => {
    const document = { ...defaultPolicyDocument(), origins: [{ pattern: APP }] } as Record<string, unknown>;
    delete document.cors;
    const compiled = compilePolicy(document as CompilableDocument, NOW, { version: 1, tenant: "acme" });
    expect(decideCors(compiled, actual()).reason).toBe("cors_method_not_allowed");
  });

  it("works on the stored (normalised) form: standard methods upper-cased, header names lower-cased", () => {
    const stored = normalizePolicyDocument({
      origins: [{ pattern: APP }],
      cors: { methods: ["get", "Patch"], allowHeaders: ["X-Trace-Id"], exposeHeaders: ["X-Total"] },
    });
    const compiled = compilePolicy(stored, NOW, { version: 1, tenant: "acme" });
    expect(decideCors(compiled, preflight("GET", "x-trace-id")).allowed).toBe(true);
    expect(decideCors(compiled, preflight("Patch")).allowed).toBe(true);
    expect(decideCors(compiled, preflight("PATCH")).reason).toBe("cors_method_not_allowed");
    expect(decideCors(compiled, actual()).headers[ACEH]).toBe("x-total");
  });
});

describe("explainCors", () => {
  it("records origin, method, headers and mode, and agrees with decideCors", () => {
    const compiled = putPolicy();
    const request = preflight("PUT", "x-other");
    const { decision, steps } = explainCors(compiled, request);
    expect(decision).toEqual(decideCors(compiled, request));
    expect(steps.map((s) => [s.check, s.outcome])).toEqual([
      ["origin", "pass"],
      ["method", "pass"],
      ["headers", "fail"],
      ["mode", "info"],
    ]);
    expect(steps[2]!.message).toContain("x-other");
  });

  it("skips the later checks once the origin failed", () => {
    const { steps } = explainCors(policy(), preflight("PUT", "x", { origin: "https://evil.net" }));
    expect(steps.map((s) => s.outcome)).toEqual(["fail", "skip", "skip", "info"]);
  });

  it("says when a method differs only by case", () => {
    const { steps } = explainCors(putPolicy(), preflight("put"));
    expect(steps[1]!.message).toContain("case-sensitively");
  });

  it("says * never covers Authorization", () => {
    const { steps } = explainCors(anyHeader(), preflight("GET", "authorization"));
    expect(steps[2]!.message).toContain("never covers Authorization");
  });
});

// --- properties ------------------------------------------------------------------------------

const RUNS = { numRuns: 400 };
const label = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
const host = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => `${labels.join(".")}.example.org`),
  fc.constantFrom("app.example.com", "example.org", "evilexample.org", "app.example.com.evil.net", "example.org."),
  fc.array(label, { minLength: 1, maxLength: 2 }).map((labels) => `${labels.join(".")}.net`),
);
const originArb = fc.oneof(
  fc
    .tuple(fc.constantFrom("https", "http", "wss"), host, fc.option(fc.constantFrom(443, 8443, 80), { nil: null }))
    .map(([s, h, p]) => (p === null ? `${s}://${h}` : `${s}://${h}:${p}`)),
  fc.constantFrom(
    "null",
    "https://app.example.com/",
    "https://app.example.com, https://x.net",
    " https://app.example.com",
  ),
  fc.string({ maxLength: 20 }),
);
const patternSets = fc.constantFrom(
  [APP, "https://*.example.org"],
  ["*"],
  ["null", APP],
  ["http://localhost:*", "https://*.example.org:8443"],
);
const tokenArb = fc.stringMatching(/^[A-Za-z][A-Za-z-]{0,10}$/);

describe("decideCors properties", () => {
  it("an origin is allowed for HTTP exactly when it is allowed for a WebSocket handshake (one matcher)", () => {
    fc.assert(
      fc.property(patternSets, originArb, (patterns, origin) => {
        const compiled = policy({ origins: patterns.map((pattern) => ({ pattern })) });
        const http = decideCors(compiled, actual({ origin }));
        const ws = decideHandshake(compiled, {
          origin,
          hasCookie: false,
          hasAuthorization: false,
          offeredSubprotocols: [],
          now: NOW,
        });
        expect(http.allowed).toBe(ws.allowed);
        expect(http.reason).toBe(ws.reason);
        expect(http.matchedPattern).toBe(ws.matchedPattern);
        expect(http.normalizedOrigin).toBe(ws.normalizedOrigin);
      }),
      RUNS,
    );
  });

  it("header invariants: Vary always; ACAO only when allowed and never * with credentials; ACAC only with a reflected origin", () => {
    fc.assert(
      fc.property(
        patternSets,
        originArb,
        fc.constantFrom<"allow" | "forbid">("allow", "forbid"),
        fc.boolean(),
        fc.constantFrom("GET", "PUT", "POST", "get", "DELETE"),
        (patterns, origin, credentials, isPreflight, method) => {
          const compiled = policy({ origins: patterns.map((pattern) => ({ pattern })), credentials });
          const request = isPreflight ? preflight(method, "content-type", { origin }) : actual({ origin, method });
          const decision = decideCors(compiled, request);
          expect(decision.headers[VARY]).toContain("Origin");
          if (decision.headers[ACAO] !== undefined) {
            expect(["origin_not_allowed", "origin_null", "origin_malformed", "origin_missing"]).not.toContain(
              decision.reason,
            );
            if (decision.headers[ACAO] !== "*") expect(decision.headers[ACAO]).toBe(origin);
          }
          if (decision.headers[ACAO] === "*") expect(decision.headers[ACAC]).toBeUndefined();
          if (decision.headers[ACAC] !== undefined) {
            expect(decision.headers[ACAC]).toBe("true");
            expect(credentials).toBe("allow");
            expect(decision.headers[ACAO]).toBe(origin);
            expect(decision.headers[ACAO]).not.toBe("null");
          }
          // An enforced refusal grants nothing: Vary only.
          if (!decision.allowed) expect(Object.keys(decision.headers)).toEqual([VARY]);
          if (decision.allowed && decision.kind === "preflight") expect(decision.status).toBe(204);
          if (!decision.allowed) expect(decision.status).toBe(403);
        },
      ),
      RUNS,
    );
  });

  it("methods are compared case-sensitively: allowed exactly when listed as sent", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(tokenArb, { maxLength: 5 }),
        tokenArb,
        fc.boolean(),
        (methods, method, isPreflight) => {
          const compiled = policy({ cors: cors({ methods }) });
          const request = isPreflight ? preflight(method) : actual({ method });
          expect(decideCors(compiled, request).allowed).toBe(methods.includes(method));
        },
      ),
      RUNS,
    );
  });

  it("request headers are compared case-insensitively; Authorization only when named", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          tokenArb.map((t) => t.toLowerCase()),
          { maxLength: 5 },
        ),
        fc.array(tokenArb, { maxLength: 4 }),
        fc.boolean(),
        (allowed, requested, wildcard) => {
          const allowHeaders = wildcard ? ["*", ...allowed] : allowed;
          const compiled = policy({ cors: cors({ allowHeaders }) });
          const decision = decideCors(compiled, preflight("GET", requested.join(",")));
          const expected = requested.every((name) => {
            const lower = name.toLowerCase();
            return allowed.includes(lower) || (wildcard && lower !== "authorization");
          });
          expect(decision.allowed).toBe(expected);
          if (decision.allowed && requested.length > 0) {
            // Only what the policy lists is ever granted.
            const granted = (decision.headers[ACAH] ?? "").split(", ");
            for (const name of granted) expect(allowHeaders).toContain(name);
          }
        },
      ),
      RUNS,
    );
  });

  it("never throws, whatever the headers", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), { nil: undefined }),
        fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), { nil: undefined }),
        fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), { nil: undefined }),
        (method, origin, requestMethod, requestHeaders) => {
          const decision = decideCors(policy(), { method, origin, requestMethod, requestHeaders, now: NOW });
          expect(typeof decision.reason).toBe("string");
        },
      ),
      RUNS,
    );
  });
});
