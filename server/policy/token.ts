/**
 * Handshake tokens: verification (and, for tests and the handshake tester, signing) of the
 * JWT a client presents as a `bearer.<jwt>` subprotocol or an `access_token` parameter
 * (SPEC §4.3).
 *
 * Rules, all fail-closed:
 * - JWS compact form, HS256 only. The algorithm is fixed by us, never chosen by the token
 *   (`alg: none`, RS256/HS512 and friends are refused), and a `crit` header is refused
 *   because we implement no extensions.
 * - Signature: HMAC-SHA256 with the tenant's secret, compared in constant time against the
 *   canonical base64url encoding (non-canonical encodings of a valid MAC are refused too).
 * - `exp` is required; `nbf` and `iat`, when present, must be numbers; a leeway of 30 s
 *   absorbs clock skew between the token issuer and the gateway. A valid token's
 *   `validUntil` (exp + leeway) is when an open connection admitted with it is closed
 *   (token_expired, SPEC §4.5): the same instant a new handshake with it starts failing.
 * - With a maximum lifetime (the policy's `limits.maxTokenLifetimeSeconds`): `iat` is
 *   required, may not lie in the future (beyond the leeway: a future `iat` would stretch
 *   the real lifetime past the maximum), and `exp - iat` may not exceed the maximum.
 * - `aud` (string or array) must contain the tenant slug, so a token for one tenant can
 *   never open another tenant's socket.
 * - Messages never contain the token or the secret.
 *
 * NOT browser-safe: the only file of server/policy that imports `node:` (crypto). Only
 * decide-handshake.ts imports it; browser code uses server/policy/browser.ts.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type TokenVerification =
  | {
      ok: true;
      claims: Record<string, unknown>;
      /** Epoch ms from which this token is refused as expired (`exp` plus the leeway). */
      validUntil: number;
    }
  | { ok: false; message: string };

const LEEWAY_SECONDS = 30;
/** Far above any sane handshake token; bounds the HMAC and JSON work an attacker can cause. */
const MAX_TOKEN_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function invalid(message: string): TokenVerification {
  return { ok: false, message };
}

export interface VerifyOptions {
  /** The longest lifetime (`exp - iat`, seconds) accepted; null/undefined: no maximum. */
  maxLifetimeSeconds?: number | null;
}

export function verifyHandshakeToken(
  jwt: string,
  secret: string,
  audience: string,
  now: number,
  options: VerifyOptions = {},
): TokenVerification {
  try {
    if (typeof secret !== "string" || secret === "") return invalid("no token secret is configured for this tenant");
    if (typeof audience !== "string" || audience === "")
      return invalid("no audience (tenant) to check the token against");
    if (typeof now !== "number" || !Number.isFinite(now))
      return invalid("no valid current time to check expiry against");
    if (typeof jwt !== "string" || jwt === "") return invalid("empty token");
    if (jwt.length > MAX_TOKEN_LENGTH) return invalid(`token is longer than ${MAX_TOKEN_LENGTH} characters`);

    const parts = jwt.split(".");
    if (parts.length !== 3) return invalid("not a JWT (expected three dot-separated parts)");
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart))
      return invalid("header or payload is not base64url");

    const header = decodeJsonObject(headerPart);
    if (!header) return invalid("header is not a JSON object");
    if (header.alg !== "HS256")
      return invalid(`algorithm ${JSON.stringify(header.alg ?? null)} is not accepted (HS256 only)`);
    if (header.crit !== undefined) return invalid("critical header extensions are not supported");

    if (!BASE64URL.test(signaturePart)) return invalid("missing or malformed signature");
    const expected = Buffer.from(
      createHmac("sha256", secret).update(`${headerPart}.${payloadPart}`).digest("base64url"),
    );
    const given = Buffer.from(signaturePart);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid("bad signature");

    const claims = decodeJsonObject(payloadPart);
    if (!claims) return invalid("payload is not a JSON object");

    const { exp, nbf, iat, aud } = claims;
    if (typeof exp !== "number" || !Number.isFinite(exp))
      return invalid("exp (expiry) claim is required and must be a number");
    if (!(now < (exp + LEEWAY_SECONDS) * 1000)) return invalid(`token expired at ${isoSeconds(exp)}`);
    if (nbf !== undefined) {
      if (typeof nbf !== "number" || !Number.isFinite(nbf)) return invalid("nbf claim must be a number");
      if (now < (nbf - LEEWAY_SECONDS) * 1000) return invalid(`token is not valid before ${isoSeconds(nbf)}`);
    }
    if (iat !== undefined && (typeof iat !== "number" || !Number.isFinite(iat)))
      return invalid("iat claim must be a number");
    const maxLifetime = options?.maxLifetimeSeconds;
    if (maxLifetime !== undefined && maxLifetime !== null) {
      if (typeof maxLifetime !== "number" || !Number.isFinite(maxLifetime))
        return invalid("no valid maximum token lifetime to check against");
      if (iat === undefined)
        return invalid(`iat (issued at) claim is required: the policy limits tokens to ${maxLifetime} s`);
      const issuedAt = iat as number;
      if (now < (issuedAt - LEEWAY_SECONDS) * 1000)
        return invalid(`token is issued in the future (${isoSeconds(issuedAt)})`);
      if (exp - issuedAt > maxLifetime) {
        return invalid(
          `token lives ${exp - issuedAt} s (iat ${isoSeconds(issuedAt)} to exp ${isoSeconds(exp)}), more than the policy's maximum of ${maxLifetime} s`,
        );
      }
    }
    const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : null;
    if (!audiences || audiences.length === 0) return invalid("aud (audience) claim is required");
    if (!audiences.includes(audience))
      return invalid(`audience ${JSON.stringify(aud)} does not include this tenant "${audience}"`);
    return { ok: true, claims, validUntil: (exp + LEEWAY_SECONDS) * 1000 };
  } catch {
    // Defensive: nothing above should throw, but a verifier must never fail open.
    return invalid("token could not be verified");
  }
}

export function signHandshakeToken(
  claims: { aud: string; exp: number; sub?: string; [claim: string]: unknown },
  secret: string,
): string {
  if (typeof secret !== "string" || secret === "")
    throw new Error("signHandshakeToken: secret must be a non-empty string");
  const header = base64urlJson({ alg: "HS256", typ: "JWT" });
  const payload = base64urlJson(claims);
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function decodeJsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function isoSeconds(epochSeconds: number): string {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? String(epochSeconds) : date.toISOString();
}
