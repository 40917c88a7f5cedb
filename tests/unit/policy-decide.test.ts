/**
 * decideHandshake: every reason code the engine can produce, the order of the checks,
 * report-only mode, subprotocol selection and failing closed.
 *
 * Sources: SPEC §4.3/§4.4; Christian Schneider, "Cross-Site WebSocket Hijacking" (cookies
 * ride along on cross-site handshakes, hence credentials: forbid); the `ws` README
 * "Client authentication" recipe (authenticate in the upgrade handler, answer 401 before
 * upgrading); RFC 6455 §4.2.2 (the server selects one of the client's subprotocols, in
 * the client's order of preference); Go x/net/websocket (missing Origin refused with 403).
 */
import { describe, expect, it } from "vitest";
import {
  type CompilableDocument,
  type CompiledPolicy,
  compilePolicy,
  type Decision,
  decideHandshake,
  defaultPolicyDocument,
  type HandshakeRequest,
  REASON_STATUS,
  type Reason,
  signHandshakeToken,
  tokenFromSubprotocols,
} from "../../server/policy";

const NOW = Date.UTC(2030, 0, 1);
const SECRET = "acme-secret";

function policy(overrides: Partial<CompilableDocument> = {}, tokenSecret: string | null = SECRET): CompiledPolicy {
  const document: CompilableDocument = {
    ...defaultPolicyDocument(),
    origins: [{ pattern: "https://app.example.com" }, { pattern: "https://*.example.org" }],
    ...overrides,
  };
  return compilePolicy(document, NOW, { version: 12, tenant: "acme", tokenSecret });
}

function request(overrides: Partial<HandshakeRequest> = {}): HandshakeRequest {
  return {
    origin: "https://app.example.com",
    hasCookie: false,
    hasAuthorization: false,
    offeredSubprotocols: [],
    accessTokenParam: null,
    now: NOW,
    ...overrides,
  };
}

const token = (claims: Partial<{ aud: string; exp: number; nbf: number }> = {}, secret = SECRET) =>
  signHandshakeToken({ aud: "acme", exp: NOW / 1000 + 300, sub: "u1", ...claims }, secret);

const tokenPolicy = () => policy({ token: "required" });

type Scenario = [name: string, compiled: () => CompiledPolicy, request: Partial<HandshakeRequest>, reason: Reason];

const SCENARIOS: Scenario[] = [
  ["allowed: exact origin", () => policy(), {}, "allowed"],
  ["allowed: wildcard origin", () => policy(), { origin: "https://a.b.example.org" }, "allowed"],
  ["origin_not_allowed: other site", () => policy(), { origin: "https://evil.net" }, "origin_not_allowed"],
  ["origin_not_allowed: apex of wildcard", () => policy(), { origin: "https://example.org" }, "origin_not_allowed"],
  ["origin_missing (Go x/net/websocket refuses too)", () => policy(), { origin: undefined }, "origin_missing"],
  [
    "origin_missing even with *",
    () => policy({ origins: [{ pattern: "*" }] }),
    { origin: undefined },
    "origin_missing",
  ],
  ["origin_null", () => policy(), { origin: "null" }, "origin_null"],
  ["origin_null even with *", () => policy({ origins: [{ pattern: "*" }] }), { origin: "null" }, "origin_null"],
  ["origin_malformed: path", () => policy(), { origin: "https://app.example.com/" }, "origin_malformed"],
  [
    "origin_malformed: two lines",
    () => policy(),
    { origin: ["https://app.example.com", "https://evil.net"] },
    "origin_malformed",
  ],
  ["origin_malformed: empty", () => policy(), { origin: "" }, "origin_malformed"],
  ["credentials_forbidden: cookie (CSWSH)", () => policy(), { hasCookie: true }, "credentials_forbidden"],
  ["credentials_forbidden: Authorization", () => policy(), { hasAuthorization: true }, "credentials_forbidden"],
  [
    "credentials allowed when the policy allows them",
    () => policy({ credentials: "allow" }),
    { hasCookie: true },
    "allowed",
  ],
  ["token_missing", tokenPolicy, {}, "token_missing"],
  [
    "token_missing: bearer-looking but other case",
    tokenPolicy,
    { offeredSubprotocols: [`Bearer.${token()}`] },
    "token_missing",
  ],
  ["allowed: token as subprotocol", tokenPolicy, { offeredSubprotocols: [`bearer.${token()}`] }, "allowed"],
  ["allowed: token as access_token", tokenPolicy, { accessTokenParam: token() }, "allowed"],
  [
    "allowed: same token both ways",
    tokenPolicy,
    { offeredSubprotocols: [`bearer.${token()}`], accessTokenParam: token() },
    "allowed",
  ],
  ["token_invalid: bad signature", tokenPolicy, { accessTokenParam: token({}, "wrong-secret") }, "token_invalid"],
  ["token_invalid: expired", tokenPolicy, { accessTokenParam: token({ exp: NOW / 1000 - 3600 }) }, "token_invalid"],
  ["token_invalid: wrong audience", tokenPolicy, { accessTokenParam: token({ aud: "other-tenant" }) }, "token_invalid"],
  [
    "token_invalid: alg none",
    tokenPolicy,
    {
      accessTokenParam: `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(`{"aud":"acme","exp":${NOW / 1000 + 60}}`).toString("base64url")}.`,
    },
    "token_invalid",
  ],
  [
    "token_invalid: not yet valid",
    tokenPolicy,
    { accessTokenParam: token({ nbf: NOW / 1000 + 600 }) },
    "token_invalid",
  ],
  ["token_invalid: empty bearer.", tokenPolicy, { offeredSubprotocols: ["bearer."] }, "token_invalid"],
  ["token_invalid: empty access_token", tokenPolicy, { accessTokenParam: "" }, "token_invalid"],
  [
    "token_invalid: two different tokens",
    tokenPolicy,
    { offeredSubprotocols: [`bearer.${token()}`], accessTokenParam: token({ exp: NOW / 1000 + 301 }) },
    "token_invalid",
  ],
  [
    "token_invalid: access_token given twice (the same valid token: still ambiguous)",
    tokenPolicy,
    { accessTokenParam: [token(), token()] },
    "token_invalid",
  ],
  [
    "token_invalid: access_token given twice (valid, then garbage)",
    tokenPolicy,
    { accessTokenParam: [token(), "garbage"] },
    "token_invalid",
  ],
  ["allowed: access_token given once, as a list", tokenPolicy, { accessTokenParam: [token()] }, "allowed"],
  ["token_missing: an empty list of access_token values", tokenPolicy, { accessTokenParam: [] }, "token_missing"],
  [
    "token_invalid: longer than limits.maxTokenLifetimeSeconds",
    () => policy({ token: "required", limits: { ...defaultPolicyDocument().limits, maxTokenLifetimeSeconds: 60 } }),
    { accessTokenParam: token() },
    "token_invalid",
  ],
  [
    "allowed: within limits.maxTokenLifetimeSeconds",
    () => policy({ token: "required", limits: { ...defaultPolicyDocument().limits, maxTokenLifetimeSeconds: 600 } }),
    { accessTokenParam: signHandshakeToken({ aud: "acme", iat: NOW / 1000, exp: NOW / 1000 + 600 }, SECRET) },
    "allowed",
  ],
  [
    "token_invalid: tenant has no secret",
    () => policy({ token: "required" }, null),
    { accessTokenParam: token() },
    "token_invalid",
  ],
  ["token off: a presented bad token is ignored", () => policy(), { accessTokenParam: "garbage" }, "allowed"],
  [
    "subprotocol_not_allowed",
    () => policy({ subprotocols: ["graphql-ws"] }),
    { offeredSubprotocols: ["chat"] },
    "subprotocol_not_allowed",
  ],
  [
    "subprotocol_not_allowed: nothing offered",
    () => policy({ subprotocols: ["graphql-ws"] }),
    {},
    "subprotocol_not_allowed",
  ],
  [
    "subprotocol_not_allowed: case differs (names are case-sensitive tokens)",
    () => policy({ subprotocols: ["graphql-ws"] }),
    { offeredSubprotocols: ["GraphQL-WS"] },
    "subprotocol_not_allowed",
  ],
  [
    "gateway_unavailable: an internal fault in a check (never a borrowed code)",
    () => ({
      ...policy(),
      match: () => {
        throw new Error("boom");
      },
    }),
    {},
    "gateway_unavailable",
  ],
  [
    "subprotocol allowed",
    () => policy({ subprotocols: ["graphql-ws"] }),
    { offeredSubprotocols: ["graphql-ws"] },
    "allowed",
  ],
];

describe("decideHandshake: every reason the engine decides is reachable", () => {
  it.each(SCENARIOS)("%s", (_name, compiled, overrides, reason) => {
    const decision = decideHandshake(compiled(), request(overrides));
    expect(decision.reason).toBe(reason);
    expect(decision.allowed).toBe(reason === "allowed");
    expect(decision.status).toBe(REASON_STATUS[reason]);
    expect(decision.enforced).toBe(true);
    expect(decision.policyVersion).toBe(12);
    expect(decision.wouldReject).toBeUndefined();
    if (reason === "allowed") expect(decision.detail).toBeUndefined();
    else expect(decision.detail).toEqual(expect.any(String));
  });

  it("covers every engine reason (the others are decided by the gateway)", () => {
    const gatewayOnly = [
      "tenant_unknown",
      "connection_limit",
      "rate_limited",
      "bad_handshake",
      "upstream_unavailable",
      // Closes of open connections (SPEC §4.5), decided by the gateway from a re-evaluation.
      "policy_revoked",
      "token_expired",
      // HTTP-only codes: decideCors (tests/unit/policy-cors.test.ts) and the gateway's HTTP path.
      "cors_method_not_allowed",
      "cors_header_not_allowed",
      "bad_request",
    ];
    const reached = new Set(
      SCENARIOS.map(([, compiled, overrides]) => decideHandshake(compiled(), request(overrides)).reason),
    );
    const engineReasons = Object.keys(REASON_STATUS).filter((reason) => !gatewayOnly.includes(reason));
    expect([...reached].sort()).toEqual(engineReasons.sort());
  });
});

describe("decideHandshake: statuses", () => {
  it("answers 403 for policy, 401 for tokens, 101 when allowed", () => {
    expect(decideHandshake(policy(), request({ origin: "https://evil.net" })).status).toBe(403);
    expect(decideHandshake(tokenPolicy(), request()).status).toBe(401);
    expect(decideHandshake(policy(), request()).status).toBe(101);
  });
});

describe("decideHandshake: order of checks (first failure wins)", () => {
  it("origin before credentials before token before subprotocol", () => {
    const strict = policy({ token: "required", subprotocols: ["v1"] });
    const everythingWrong = request({ origin: "https://evil.net", hasCookie: true, offeredSubprotocols: ["v0"] });
    expect(decideHandshake(strict, everythingWrong).reason).toBe("origin_not_allowed");
    expect(decideHandshake(strict, { ...everythingWrong, origin: "https://app.example.com" }).reason).toBe(
      "credentials_forbidden",
    );
    expect(
      decideHandshake(strict, { ...everythingWrong, origin: "https://app.example.com", hasCookie: false }).reason,
    ).toBe("token_missing");
    expect(
      decideHandshake(strict, {
        ...everythingWrong,
        origin: "https://app.example.com",
        hasCookie: false,
        accessTokenParam: token(),
      }).reason,
    ).toBe("subprotocol_not_allowed");
  });

  it("a cross-site page learns nothing about its token: origin is judged first", () => {
    const decision = decideHandshake(tokenPolicy(), request({ origin: "https://evil.net", accessTokenParam: token() }));
    expect(decision.reason).toBe("origin_not_allowed");
  });

  it("missingOrigin: allow admits a native client, which still faces the other checks", () => {
    const native = policy({ missingOrigin: "allow", token: "required" });
    expect(decideHandshake(native, request({ origin: undefined })).reason).toBe("token_missing");
    const allowed = decideHandshake(native, request({ origin: undefined, accessTokenParam: token() }));
    expect(allowed).toMatchObject({ allowed: true, reason: "allowed", matchedPattern: null, normalizedOrigin: null });
  });

  it("missingOrigin: allow does not admit a malformed or null origin", () => {
    const native = policy({ missingOrigin: "allow" });
    expect(decideHandshake(native, request({ origin: "" })).reason).toBe("origin_malformed");
    expect(decideHandshake(native, request({ origin: "null" })).reason).toBe("origin_null");
  });

  it("the null pattern admits the opaque origin", () => {
    const decision = decideHandshake(policy({ origins: [{ pattern: "null" }] }), request({ origin: "null" }));
    expect(decision).toMatchObject({ allowed: true, matchedPattern: "null", normalizedOrigin: "null" });
  });
});

describe("decideHandshake: report-only", () => {
  const reportOnly = () => policy({ mode: "report-only", token: "required" });

  it("lets a failing handshake through, keeps the failing reason and says what enforce would do", () => {
    const decision = decideHandshake(reportOnly(), request({ origin: "https://evil.net" }));
    expect(decision).toEqual<Decision>({
      allowed: true,
      reason: "origin_not_allowed",
      status: 101,
      matchedPattern: null,
      enforced: false,
      policyVersion: 12,
      wouldReject: "origin_not_allowed",
      selectedSubprotocol: null,
      normalizedOrigin: "https://evil.net",
      detail: "Origin https://evil.net matches no pattern",
    });
  });

  it("reports the first failing check, as enforce would", () => {
    const decision = decideHandshake(reportOnly(), request({ hasCookie: true }));
    expect(decision.wouldReject).toBe("credentials_forbidden");
  });

  it("a fully passing handshake is 'allowed' with no wouldReject, and not enforced", () => {
    const decision = decideHandshake(reportOnly(), request({ accessTokenParam: token() }));
    expect(decision).toMatchObject({ allowed: true, reason: "allowed", enforced: false, status: 101 });
    expect(decision.wouldReject).toBeUndefined();
  });

  it("still selects a subprotocol for the connection it lets through", () => {
    const decision = decideHandshake(
      policy({ mode: "report-only", subprotocols: ["v1"] }),
      request({ origin: "https://evil.net", offeredSubprotocols: ["v1"] }),
    );
    expect(decision).toMatchObject({ allowed: true, wouldReject: "origin_not_allowed", selectedSubprotocol: "v1" });
  });
});

describe("decideHandshake: subprotocol selection (RFC 6455 §4.2.2: client order)", () => {
  const compiled = () => policy({ subprotocols: ["v2", "v1"] });

  it("selects the first offered name that the policy lists", () => {
    expect(decideHandshake(compiled(), request({ offeredSubprotocols: ["v0", "v1", "v2"] })).selectedSubprotocol).toBe(
      "v1",
    );
  });

  it("never selects a bearer.* entry, and bearer entries do not satisfy the list", () => {
    const withToken = policy({ subprotocols: ["v1"], token: "required" });
    const decision = decideHandshake(withToken, request({ offeredSubprotocols: [`bearer.${token()}`, "v1"] }));
    expect(decision).toMatchObject({ allowed: true, selectedSubprotocol: "v1" });
    const onlyToken = decideHandshake(withToken, request({ offeredSubprotocols: [`bearer.${token()}`] }));
    expect(onlyToken.reason).toBe("subprotocol_not_allowed");
    expect(onlyToken.detail).not.toContain(token());
  });

  it("selects nothing when the policy lists no subprotocols", () => {
    expect(decideHandshake(policy(), request({ offeredSubprotocols: ["chat"] }))).toMatchObject({
      allowed: true,
      selectedSubprotocol: null,
    });
  });
});

describe("decideHandshake: fails closed", () => {
  it("treats omitted credential flags as present", () => {
    const partial = {
      origin: "https://app.example.com",
      offeredSubprotocols: [],
      now: NOW,
    } as unknown as HandshakeRequest;
    expect(decideHandshake(policy(), partial).reason).toBe("credentials_forbidden");
  });

  it("refuses (even in report-only) when a check throws: gateway_unavailable, 503", () => {
    const broken = policy({ mode: "report-only" });
    const exploding = {
      ...broken,
      match: () => {
        throw new Error("boom");
      },
    };
    const decision = decideHandshake(exploding, request());
    expect(decision).toMatchObject({ allowed: false, reason: "gateway_unavailable", status: 503, enforced: true });
    expect(decision.detail).toMatch(/internal error in the origin check/);
  });

  it("a fault in the token check is gateway_unavailable too, not token_invalid", () => {
    const compiled = tokenPolicy();
    const exploding = {
      ...compiled,
      settings: {
        ...compiled.settings,
        get requireToken(): boolean {
          throw new Error("boom");
        },
      },
    };
    const decision = decideHandshake(exploding, request({ accessTokenParam: token() }));
    expect(decision).toMatchObject({ allowed: false, reason: "gateway_unavailable", status: 503, enforced: true });
    expect(decision.detail).toMatch(/internal error in the token check/);
  });

  it("refuses when the compiled policy itself is unusable: gateway_unavailable, never a policy code", () => {
    const decision = decideHandshake(null as unknown as CompiledPolicy, request());
    expect(decision).toMatchObject({ allowed: false, enforced: true, reason: "gateway_unavailable", status: 503 });
  });

  it("refuses a token when the clock is not a number", () => {
    expect(decideHandshake(tokenPolicy(), request({ accessTokenParam: token(), now: Number.NaN })).reason).toBe(
      "token_invalid",
    );
  });

  it("an entry that expired after compilation no longer admits (time of the handshake counts)", () => {
    const compiled = policy({
      origins: [{ pattern: "https://temp.example.com", expiresAt: new Date(NOW + 1000).toISOString() }],
    });
    expect(decideHandshake(compiled, request({ origin: "https://temp.example.com" })).allowed).toBe(true);
    expect(decideHandshake(compiled, request({ origin: "https://temp.example.com", now: NOW + 1000 })).reason).toBe(
      "origin_not_allowed",
    );
  });
});

describe("decideHandshake: decision fields", () => {
  it("reports the matched pattern and canonical origin", () => {
    const decision = decideHandshake(policy(), request({ origin: "HTTPS://X.Example.ORG:443" }));
    expect(decision).toMatchObject({
      matchedPattern: "https://*.example.org",
      normalizedOrigin: "https://x.example.org",
    });
  });

  it("keeps the matched pattern when a later check fails", () => {
    expect(decideHandshake(policy(), request({ hasCookie: true })).matchedPattern).toBe("https://app.example.com");
  });
});

describe("tokenFromSubprotocols", () => {
  it("returns the token of the first bearer.* entry", () => {
    expect(tokenFromSubprotocols(["chat", "bearer.abc.def.ghi", "bearer.other"])).toBe("abc.def.ghi");
    expect(tokenFromSubprotocols(["chat"])).toBeNull();
    expect(tokenFromSubprotocols([])).toBeNull();
    expect(tokenFromSubprotocols(["Bearer.abc"])).toBeNull();
    expect(tokenFromSubprotocols(["bearer."])).toBe("");
  });
});
