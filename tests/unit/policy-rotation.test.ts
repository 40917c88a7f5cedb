/**
 * Token-secret rotation in the engine (SPEC §7) and what a token-admitted decision tells the
 * gateway about open connections (SPEC §4.5): during the overlap both secrets verify, to
 * the millisecond of its end; after it only the new one; the overlap's end is when the
 * gateway must recompile (nextExpiryAt); an accepted decision carries when its token expires.
 */
import { describe, expect, it } from "vitest";
import { judgeOpenConnection } from "../../server/gateway/revocation";
import {
  compilePolicy,
  decideHandshake,
  defaultPolicyDocument,
  type HandshakeRequest,
  signHandshakeToken,
} from "../../server/policy";

const NOW = Date.UTC(2030, 0, 1);
const OLD = "old-secret";
const NEW = "new-secret";
const END = NOW + 300_000;
const document = {
  ...defaultPolicyDocument(),
  token: "required" as const,
  origins: [{ pattern: "https://a.example" }],
};

const rotated = (now = NOW, until: number | null = END) =>
  compilePolicy(document, now, {
    version: 4,
    tenant: "acme",
    tokenSecret: NEW,
    previousTokenSecret: OLD,
    previousTokenSecretUntil: until,
  });

const jwt = (secret: string, exp = NOW / 1000 + 3600) => signHandshakeToken({ aud: "acme", exp }, secret);

const request = (token: string, now = NOW): HandshakeRequest => ({
  origin: "https://a.example",
  hasCookie: false,
  hasAuthorization: false,
  offeredSubprotocols: [`bearer.${token}`],
  accessTokenParam: null,
  now,
});

describe("rotation overlap", () => {
  it("verifies tokens of both secrets until the overlap ends, then only the new one", () => {
    const compiled = rotated();
    expect(decideHandshake(compiled, request(jwt(NEW))).reason).toBe("allowed");
    expect(decideHandshake(compiled, request(jwt(OLD))).reason).toBe("allowed");
    expect(decideHandshake(compiled, request(jwt(OLD), END - 1)).reason).toBe("allowed");
    // The compiled policy is not rebuilt: the handshake's own time decides.
    expect(decideHandshake(compiled, request(jwt(OLD), END)).reason).toBe("token_invalid");
    expect(decideHandshake(compiled, request(jwt(NEW), END)).reason).toBe("allowed");
    expect(decideHandshake(compiled, request(jwt("another"))).reason).toBe("token_invalid");
  });

  it("asks to be recompiled when the overlap ends, and leaves the previous secret out after it", () => {
    expect(rotated().nextExpiryAt).toBe(END);
    expect(rotated().previousTokenSecret).toBe(OLD);
    const after = rotated(END);
    expect(after.previousTokenSecret).toBeNull();
    expect(after.nextExpiryAt).toBeNull();
    expect(decideHandshake(after, request(jwt(OLD), END - 1)).reason).toBe("token_invalid");
  });

  it("ignores a previous secret without an end (no overlap) or with a NaN one", () => {
    expect(rotated(NOW, null).previousTokenSecret).toBeNull();
    expect(rotated(NOW, Number.NaN).previousTokenSecret).toBeNull();
    expect(decideHandshake(rotated(NOW, null), request(jwt(OLD))).reason).toBe("token_invalid");
  });

  it("an earlier entry expiry stays the next recompilation", () => {
    const compiled = compilePolicy(
      { ...document, origins: [{ pattern: "https://a.example", expiresAt: new Date(NOW + 1000).toISOString() }] },
      NOW,
      { version: 1, tenant: "acme", tokenSecret: NEW, previousTokenSecret: OLD, previousTokenSecretUntil: END },
    );
    expect(compiled.nextExpiryAt).toBe(NOW + 1000);
  });
});

describe("tokenValidUntil", () => {
  it("is exp plus the 30 s leeway on decisions a token admitted, and absent otherwise", () => {
    const exp = NOW / 1000 + 60;
    expect(decideHandshake(rotated(), request(jwt(NEW, exp))).tokenValidUntil).toBe((exp + 30) * 1000);
    const open = compilePolicy({ ...document, token: "off" }, NOW, { version: 1, tenant: "acme" });
    expect(decideHandshake(open, request(jwt(NEW, exp))).tokenValidUntil).toBeUndefined();
    expect(decideHandshake(rotated(), request(jwt("wrong", exp))).tokenValidUntil).toBeUndefined();
  });
});

describe("judgeOpenConnection (SPEC §4.5)", () => {
  const facts = (token: string) => {
    const { now: _now, ...rest } = request(token);
    return rest;
  };

  it("keeps what the new policy admits, closes what it refuses with the refusal as cause", () => {
    const compiled = rotated();
    expect(judgeOpenConnection(facts(jwt(OLD)), Number.POSITIVE_INFINITY, compiled, NOW)).toEqual({ action: "keep" });
    expect(judgeOpenConnection(facts(jwt(OLD)), Number.POSITIVE_INFINITY, compiled, END)).toEqual({
      action: "close",
      reason: "policy_revoked",
      cause: "token_invalid",
      policyVersion: 4,
    });
  });

  it("closes everything of a deleted tenant, and a token past its validity as token_expired", () => {
    expect(judgeOpenConnection(facts(jwt(NEW)), Number.POSITIVE_INFINITY, null, NOW)).toMatchObject({
      action: "close",
      reason: "policy_revoked",
      cause: "tenant_deleted",
    });
    expect(judgeOpenConnection(facts(jwt(NEW)), NOW, rotated(), NOW)).toMatchObject({
      action: "close",
      reason: "token_expired",
    });
  });

  it("in report-only closes nothing and says what enforce would have done", () => {
    const reportOnly = compilePolicy({ ...document, mode: "report-only", origins: [] }, NOW, {
      version: 9,
      tenant: "acme",
      tokenSecret: NEW,
    });
    expect(judgeOpenConnection(facts(jwt(NEW)), Number.POSITIVE_INFINITY, reportOnly, NOW)).toEqual({
      action: "report",
      cause: "origin_not_allowed",
      policyVersion: 9,
    });
    expect(judgeOpenConnection(facts(jwt(NEW)), NOW, reportOnly, NOW)).toEqual({
      action: "report",
      cause: "token_expired",
      policyVersion: 9,
    });
  });

  it("does not re-judge limits: lowering one keeps the connection", () => {
    const lowered = compilePolicy(
      { ...document, limits: { ...document.limits, maxConnections: 1, maxMessageBytes: 1, idleTimeoutSeconds: 1 } },
      NOW,
      { version: 5, tenant: "acme", tokenSecret: NEW },
    );
    expect(judgeOpenConnection(facts(jwt(NEW)), Number.POSITIVE_INFINITY, lowered, NOW)).toEqual({ action: "keep" });
  });
});
