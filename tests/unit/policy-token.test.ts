/**
 * Handshake token verification (HS256 only, exp required, nbf, aud = tenant, 30 s leeway).
 *
 * Sources: RFC 7519 (JWT claims exp/nbf/aud and "MAY provide for some small leeway"),
 * RFC 7515 (JWS compact serialisation, `crit`), RFC 8725 "JWT Best Current Practices"
 * §3.1 (the verifier, not the token, chooses the algorithm: refuse `none`, refuse
 * algorithm substitution), and the published HS256 example token of jwt.io as an
 * independent signature vector.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signHandshakeToken, verifyHandshakeToken } from "../../server/policy";

const SECRET = "tenant-secret-with-enough-entropy";
const NOW = Date.UTC(2030, 0, 1);
const nowSeconds = NOW / 1000;

function b64(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

function forge(header: unknown, payload: unknown, secret = SECRET): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${createHmac("sha256", secret).update(signingInput).digest("base64url")}`;
}

const validClaims = { aud: "acme", exp: nowSeconds + 300, sub: "user-1" };

function expectInvalid(jwt: string, messagePart: string, audience = "acme", now = NOW) {
  const result = verifyHandshakeToken(jwt, SECRET, audience, now);
  expect(result.ok).toBe(false);
  expect(result.ok ? "" : result.message).toContain(messagePart);
}

describe("verifyHandshakeToken", () => {
  it("accepts a token it signed and returns the claims", () => {
    const jwt = signHandshakeToken(validClaims, SECRET);
    expect(verifyHandshakeToken(jwt, SECRET, "acme", NOW)).toEqual({
      ok: true,
      claims: validClaims,
      // Refused from exp + the 30 s leeway on (an open connection is closed then, SPEC §4.5).
      validUntil: (validClaims.exp + 30) * 1000,
    });
  });

  it("checks the signature against jwt.io's published HS256 example (then refuses it: no exp)", () => {
    const example =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    const rightKey = verifyHandshakeToken(example, "your-256-bit-secret", "acme", NOW);
    expect(rightKey.ok ? "" : rightKey.message).toContain("exp");
    const wrongKey = verifyHandshakeToken(example, "another-secret", "acme", NOW);
    expect(wrongKey.ok ? "" : wrongKey.message).toBe("bad signature");
  });

  it("refuses a bad signature (other secret, tampered payload, truncated or non-canonical MAC)", () => {
    expectInvalid(forge({ alg: "HS256" }, validClaims, "other-secret"), "bad signature");
    const [header, , signature] = signHandshakeToken(validClaims, SECRET).split(".");
    expectInvalid(`${header}.${b64({ ...validClaims, aud: "other" })}.${signature}`, "bad signature");
    expectInvalid(`${header}.${b64(validClaims)}.${signature!.slice(0, -2)}`, "bad signature");
    // The last base64url character of a 32-byte MAC carries 2 unused bits: flipping them
    // decodes to the same bytes, and must still be refused.
    const jwt = signHandshakeToken(validClaims, SECRET);
    const last = jwt.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(`${jwt.slice(0, -1)}${sibling}`.split(".")[2]!, "base64url")).toEqual(
      Buffer.from(jwt.split(".")[2]!, "base64url"),
    );
    expectInvalid(`${jwt.slice(0, -1)}${sibling}`, "bad signature");
  });

  it("refuses alg none and every algorithm other than HS256 (RFC 8725 §3.1)", () => {
    expectInvalid(`${b64({ alg: "none", typ: "JWT" })}.${b64(validClaims)}.`, "not accepted");
    expectInvalid(`${b64({ alg: "none" })}.${b64(validClaims)}`, "three");
    expectInvalid(forge({ alg: "HS512" }, validClaims), "not accepted");
    expectInvalid(forge({ alg: "hs256" }, validClaims), "not accepted");
    expectInvalid(forge({ alg: "RS256" }, validClaims), "not accepted");
    expectInvalid(forge({ typ: "JWT" }, validClaims), "not accepted");
  });

  it("refuses a crit header (RFC 7515 §4.1.11: we understand no extension)", () => {
    expectInvalid(forge({ alg: "HS256", crit: ["b64"], b64: false }, validClaims), "critical");
  });

  it("requires exp and honours a 30 s leeway on it", () => {
    expectInvalid(forge({ alg: "HS256" }, { aud: "acme" }), "exp");
    expectInvalid(forge({ alg: "HS256" }, { aud: "acme", exp: "2031-01-01" }), "exp");
    expectInvalid(forge({ alg: "HS256" }, { aud: "acme", exp: null }), "exp");
    const expiredAt = nowSeconds - 10;
    expect(verifyHandshakeToken(forge({ alg: "HS256" }, { aud: "acme", exp: expiredAt }), SECRET, "acme", NOW).ok).toBe(
      true,
    );
    expect(
      verifyHandshakeToken(forge({ alg: "HS256" }, { aud: "acme", exp: nowSeconds - 29 }), SECRET, "acme", NOW).ok,
    ).toBe(true);
    expectInvalid(forge({ alg: "HS256" }, { aud: "acme", exp: nowSeconds - 30 }), "expired");
    expectInvalid(forge({ alg: "HS256" }, { aud: "acme", exp: nowSeconds - 3600 }), "expired");
  });

  it("refuses a token whose nbf is more than 30 s in the future", () => {
    const claims = { aud: "acme", exp: nowSeconds + 3600 };
    expect(
      verifyHandshakeToken(forge({ alg: "HS256" }, { ...claims, nbf: nowSeconds + 29 }), SECRET, "acme", NOW).ok,
    ).toBe(true);
    expectInvalid(forge({ alg: "HS256" }, { ...claims, nbf: nowSeconds + 31 }), "not valid before");
    expectInvalid(forge({ alg: "HS256" }, { ...claims, nbf: "soon" }), "nbf");
    expectInvalid(forge({ alg: "HS256" }, { ...claims, iat: "then" }), "iat");
  });

  it("requires the audience to name the tenant (string or array)", () => {
    const exp = nowSeconds + 60;
    expect(verifyHandshakeToken(forge({ alg: "HS256" }, { aud: ["other", "acme"], exp }), SECRET, "acme", NOW).ok).toBe(
      true,
    );
    expectInvalid(forge({ alg: "HS256" }, { aud: "other", exp }), "does not include");
    expectInvalid(forge({ alg: "HS256" }, { aud: ["other"], exp }), "does not include");
    expectInvalid(forge({ alg: "HS256" }, { aud: "ACME", exp }), "does not include");
    expectInvalid(forge({ alg: "HS256" }, { exp }), "aud");
    expectInvalid(forge({ alg: "HS256" }, { aud: [], exp }), "aud");
  });

  it("refuses garbage without throwing", () => {
    for (const garbage of [
      "",
      "a.b",
      "a.b.c.d",
      "!!!.###.$$$",
      "e30.e30.",
      `${b64("[]")}.${b64("{}")}.x`,
      "x".repeat(9000),
    ]) {
      expect(verifyHandshakeToken(garbage, SECRET, "acme", NOW).ok).toBe(false);
    }
    expectInvalid(forge({ alg: "HS256" }, [1, 2]), "payload is not a JSON object");
    expectInvalid(`${b64("not json")}.${b64(validClaims)}.abc`, "header");
  });

  it("refuses when there is no secret, no audience or no valid time", () => {
    const jwt = signHandshakeToken(validClaims, SECRET);
    expect(verifyHandshakeToken(jwt, "", "acme", NOW).ok).toBe(false);
    expect(verifyHandshakeToken(jwt, SECRET, "", NOW).ok).toBe(false);
    expect(verifyHandshakeToken(jwt, SECRET, "acme", Number.NaN).ok).toBe(false);
  });

  it("never echoes the token or the secret in its messages", () => {
    const jwt = forge({ alg: "HS256" }, { aud: "other", exp: nowSeconds + 60 });
    for (const candidate of [jwt, `${jwt}x`, forge({ alg: "HS256" }, { aud: "acme", exp: 1 })]) {
      const result = verifyHandshakeToken(candidate, SECRET, "acme", NOW);
      expect(result.ok ? "" : result.message).not.toContain(candidate.split(".")[2]);
      expect(result.ok ? "" : result.message).not.toContain(SECRET);
    }
  });
});

describe("signHandshakeToken", () => {
  it("produces a standard HS256 JWS with typ JWT", () => {
    const [header, payload] = signHandshakeToken(validClaims, SECRET).split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toEqual(validClaims);
  });

  it("refuses to sign without a secret", () => {
    expect(() => signHandshakeToken(validClaims, "")).toThrow(/secret/);
  });
});

describe("verifyHandshakeToken with a maximum lifetime (limits.maxTokenLifetimeSeconds)", () => {
  const verify = (claims: Record<string, unknown>, max: number | null, now = NOW) =>
    verifyHandshakeToken(forge({ alg: "HS256" }, { aud: "acme", ...claims }), SECRET, "acme", now, {
      maxLifetimeSeconds: max,
    });
  const message = (result: ReturnType<typeof verify>) => (result.ok ? "" : result.message);

  it("accepts a token whose exp - iat is within the maximum (the boundary included)", () => {
    expect(verify({ iat: nowSeconds, exp: nowSeconds + 300 }, 300).ok).toBe(true);
    expect(verify({ iat: nowSeconds - 100, exp: nowSeconds + 200 }, 300).ok).toBe(true);
  });

  it("refuses a token that lives longer than the maximum", () => {
    const result = verify({ iat: nowSeconds, exp: nowSeconds + 301 }, 300);
    expect(message(result)).toContain("lives 301 s");
    expect(message(result)).toContain("maximum of 300 s");
  });

  it("requires iat when a maximum is set, and only then", () => {
    expect(message(verify({ exp: nowSeconds + 60 }, 300))).toContain("iat (issued at) claim is required");
    expect(verify({ exp: nowSeconds + 60 }, null).ok).toBe(true);
    expect(verify({ exp: nowSeconds + 60 }, undefined as unknown as null).ok).toBe(true);
  });

  it("refuses an iat in the future (it would stretch the real lifetime), within the 30 s leeway", () => {
    expect(message(verify({ iat: nowSeconds + 3600, exp: nowSeconds + 3660 }, 300))).toContain("issued in the future");
    expect(verify({ iat: nowSeconds + 29, exp: nowSeconds + 60 }, 300).ok).toBe(true);
  });

  it("fails closed on a maximum that is not a number", () => {
    expect(verify({ iat: nowSeconds, exp: nowSeconds + 60 }, Number.NaN).ok).toBe(false);
  });
});
