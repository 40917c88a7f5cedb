/**
 * decideHandshake: the one decision the gateway applies to every WebSocket upgrade (SPEC
 * §4.4), computed from a compiled policy and the facts of the request. Pure: the gateway
 * extracts headers and the time; this function only judges.
 *
 * Order of checks — the first failing check decides the reason:
 *   1. origin       malformed → origin_malformed; missing → allowed only by
 *                   `missingOrigin: allow` (never by `*`), else origin_missing; `null` →
 *                   allowed only by a `null` pattern, else origin_null; otherwise the
 *                   allowlist match → origin_not_allowed when nothing matches.
 *                   Origin comes first so a cross-site page learns nothing else (e.g.
 *                   whether its token would have been valid).
 *   2. credentials  `credentials: forbid` and a Cookie or Authorization header present →
 *                   credentials_forbidden; so too under `credentials: allow` when the
 *                   matching entry may never admit credentials (`*`, `null`, a wildcard
 *                   over public suffixes: compilePolicy's `credentialsWithheld`, a policy
 *                   that should not have been saved). The token never travels in Authorization (only
 *                   as a `bearer.<jwt>` subprotocol or `access_token` parameter), so an
 *                   Authorization header is always an ambient credential here.
 *   3. token        `token: required` → exactly one token (several different ones, or an
 *                   `access_token` parameter given more than once, are refused as
 *                   ambiguous: layers that pick the first or the last value would disagree
 *                   on which one counts); none → token_missing; bad signature, alg other
 *                   than HS256, missing/expired `exp`, future `nbf`, audience other than the
 *                   tenant slug (30 s leeway), or no tenant secret → token_invalid; with
 *                   `limits.maxTokenLifetimeSeconds` set, also a token without `iat`, with
 *                   a future `iat`, or living longer (`exp - iat`) → token_invalid. During a
 *                   secret rotation's overlap the previous secret verifies too.
 *   4. subprotocol  policy list non-empty → the first offered name (client order) that is
 *                   in the list is selected; `bearer.*` entries never count and are never
 *                   selected (echoing one would leak the token into response headers);
 *                   none → subprotocol_not_allowed. With an empty list nothing is selected.
 *
 * report-only mode: a failing check does not block. The decision is
 * `{ allowed: true, enforced: false, status: 101, reason: <failing code>, wouldReject:
 * <failing code> }`, so audit rows say what enforce would have done. A fully passing
 * handshake has reason "allowed", no wouldReject, and `enforced: false` as well.
 *
 * Fail closed: an exception inside a check (or anywhere in the evaluation) is an internal
 * fault, refused with `gateway_unavailable` (503; SPEC §4.4: a code is never borrowed for
 * another condition, so a fault is not reported as, say, a malformed origin) and enforced
 * even in report-only mode — report-only relaxes the policy, never the engine's own
 * integrity. The trace names the check that failed. A caller that omits
 * `hasCookie`/`hasAuthorization` is treated as having sent them.
 */
import type { CompiledPolicy, CompiledSettings } from "./compile-policy";
import { type ParsedOrigin, parseOrigin } from "./parse-origin";
import { REASON_STATUS, type Reason } from "./reasons";
import { verifyHandshakeToken } from "./token";
import type { ExplainStep } from "./types";

export interface HandshakeRequest {
  origin: string | readonly string[] | undefined;
  hasCookie: boolean;
  hasAuthorization: boolean;
  /** As offered in Sec-WebSocket-Protocol, order kept. */
  offeredSubprotocols: readonly string[];
  /**
   * Every value of the `access_token` query parameter, in order (callers pass all of them,
   * never just the first: a repeated parameter is refused as ambiguous). A string is one
   * value; null/undefined or an empty list when absent.
   */
  accessTokenParam?: string | readonly string[] | null;
  /** Epoch ms. */
  now: number;
}

export interface Decision {
  allowed: boolean;
  reason: Reason;
  status: number;
  matchedPattern: string | null;
  /** False in report-only mode. */
  enforced: boolean;
  policyVersion: number;
  /** In report-only: what enforce would have said. */
  wouldReject?: Reason;
  selectedSubprotocol: string | null;
  /** Canonical origin, "null" for the opaque origin, null when missing or malformed. */
  normalizedOrigin: string | null;
  /** Why a check failed, in words (never contains the token); for logs and the tester. */
  detail?: string;
  /**
   * Set when a valid token admitted the handshake: epoch ms from which that token is
   * expired (`exp` plus the verifier's leeway). The gateway closes the connection then
   * (token_expired, SPEC §4.5).
   */
  tokenValidUntil?: number;
}

const BEARER_PREFIX = "bearer.";

type CheckName = ExplainStep["check"];
type Failure = { ok: false; reason: Reason; message: string; internal?: boolean };
type CheckResult = { ok: true; message: string; tokenValidUntil?: number } | Failure;

/** The token carried in the first `bearer.<jwt>` subprotocol entry, or null. */
export function tokenFromSubprotocols(offered: readonly string[]): string | null {
  if (!Array.isArray(offered)) return null;
  for (const name of offered) {
    if (typeof name === "string" && name.startsWith(BEARER_PREFIX)) return name.slice(BEARER_PREFIX.length);
  }
  return null;
}

export function decideHandshake(compiled: CompiledPolicy, request: HandshakeRequest): Decision {
  return evaluateHandshake(compiled, request, null);
}

/**
 * decideHandshake that also records each check into `trace` (explainHandshake uses it).
 * One code path for both, so an explanation can never disagree with the decision.
 */
export function evaluateHandshake(
  compiled: CompiledPolicy,
  request: HandshakeRequest,
  trace: ExplainStep[] | null,
): Decision {
  try {
    return evaluate(compiled, request, trace);
  } catch {
    trace?.push({ check: "mode", outcome: "fail", message: "internal error while deciding: refused (fail closed)" });
    return {
      allowed: false,
      reason: "gateway_unavailable",
      status: REASON_STATUS.gateway_unavailable,
      matchedPattern: null,
      enforced: true,
      policyVersion: typeof compiled?.version === "number" ? compiled.version : -1,
      selectedSubprotocol: null,
      normalizedOrigin: null,
      detail: "internal error while deciding: refused (fail closed)",
    };
  }
}

function evaluate(compiled: CompiledPolicy, request: HandshakeRequest, trace: ExplainStep[] | null): Decision {
  // Straight-line code on purpose (no per-call closures): this runs on every handshake.
  const settings = compiled.settings;
  const explain = trace !== null;
  let failure: Failure | null = null;

  // 1. Origin.
  let parsed: ParsedOrigin = NOT_PARSED;
  let matchedPattern: string | null = null;
  let result: CheckResult;
  try {
    parsed = parseOrigin(request.origin);
    const outcome = judgeOrigin(compiled, parsed, request.now, explain);
    matchedPattern = outcome.matchedPattern;
    result = outcome.result;
  } catch {
    result = internalFailure("origin");
  }
  failure = note(trace, "origin", result);
  const normalizedOrigin = parsed.kind === "origin" ? parsed.origin : parsed.kind === "null" ? "null" : null;

  // 2. Ambient credentials.
  if (failure) skip(trace, "credentials");
  else {
    const withheld = matchedPattern === null ? undefined : compiled.credentialsWithheld.get(matchedPattern);
    failure = note(trace, "credentials", judgeCredentials(settings, request, explain, matchedPattern, withheld));
  }

  // 3. Token.
  const offered: readonly unknown[] = Array.isArray(request.offeredSubprotocols) ? request.offeredSubprotocols : [];
  let tokenValidUntil: number | undefined;
  if (failure) skip(trace, "token");
  else {
    try {
      result = judgeToken(compiled, request, offered, explain);
    } catch {
      result = internalFailure("token");
    }
    if (result.ok) tokenValidUntil = result.tokenValidUntil;
    failure = note(trace, "token", result);
  }

  // 4. Subprotocol. Selection happens even after a failure: in report-only mode the
  // connection goes ahead and still needs its protocol.
  let selectedSubprotocol: string | null = null;
  for (const name of offered) {
    if (typeof name === "string" && !name.startsWith(BEARER_PREFIX) && settings.subprotocolSet.has(name)) {
      selectedSubprotocol = name;
      break;
    }
  }
  if (failure) skip(trace, "subprotocol");
  else failure = note(trace, "subprotocol", judgeSubprotocol(settings, offered, selectedSubprotocol, explain));

  const policyVersion = compiled.version;
  if (failure === null) {
    trace?.push({
      check: "mode",
      outcome: "info",
      message: settings.enforce ? "enforce: the handshake is accepted" : "report-only: accepted; every check passed",
    });
    const accepted: Decision = {
      allowed: true,
      reason: "allowed",
      status: REASON_STATUS.allowed,
      matchedPattern,
      enforced: settings.enforce,
      policyVersion,
      selectedSubprotocol,
      normalizedOrigin,
    };
    if (tokenValidUntil !== undefined) accepted.tokenValidUntil = tokenValidUntil;
    return accepted;
  }
  if (settings.enforce || failure.internal) {
    trace?.push({
      check: "mode",
      outcome: "info",
      message: settings.enforce
        ? `enforce: refused with ${failure.reason} (HTTP ${REASON_STATUS[failure.reason]}) before the upgrade`
        : `refused with ${failure.reason} even in report-only mode: an internal error is never let through`,
    });
    return {
      allowed: false,
      reason: failure.reason,
      status: REASON_STATUS[failure.reason],
      matchedPattern,
      enforced: true,
      policyVersion,
      selectedSubprotocol,
      normalizedOrigin,
      detail: failure.message,
    };
  }
  trace?.push({
    check: "mode",
    outcome: "info",
    message: `report-only: let through, but enforce would have refused it with ${failure.reason}`,
  });
  const reportOnly: Decision = {
    allowed: true,
    reason: failure.reason,
    status: REASON_STATUS.allowed,
    matchedPattern,
    enforced: false,
    policyVersion,
    wouldReject: failure.reason,
    selectedSubprotocol,
    normalizedOrigin,
    detail: failure.message,
  };
  if (tokenValidUntil !== undefined) reportOnly.tokenValidUntil = tokenValidUntil;
  return reportOnly;
}

/** Pass messages are only built when someone reads them (the hot path skips the strings). */
function pass(explain: boolean, message: string): CheckResult {
  return { ok: true, message: explain ? message : "" };
}

const NOT_PARSED: ParsedOrigin = Object.freeze({ kind: "malformed", message: "not parsed" });
const SKIPPED = "not evaluated: an earlier check failed";

/** Records a check's result in the trace; returns it when it failed (the decisive failure). */
function note(trace: ExplainStep[] | null, check: CheckName, result: CheckResult): Failure | null {
  trace?.push({ check, outcome: result.ok ? "pass" : "fail", message: result.message });
  return result.ok ? null : result;
}

function skip(trace: ExplainStep[] | null, check: CheckName): void {
  trace?.push({ check, outcome: "skip", message: SKIPPED });
}

function internalFailure(check: CheckName): Failure {
  return {
    ok: false,
    reason: "gateway_unavailable",
    message: `internal error in the ${check} check: refused (fail closed)`,
    internal: true,
  };
}

function judgeCredentials(
  settings: CompiledSettings,
  request: HandshakeRequest,
  explain: boolean,
  matchedPattern: string | null,
  withheld: string | undefined,
): CheckResult {
  if (!settings.forbidCredentials && withheld === undefined) {
    return pass(explain, "credentials: allow — cookies and Authorization are accepted");
  }
  const cookie = request.hasCookie !== false;
  const authorization = request.hasAuthorization !== false;
  if (!cookie && !authorization) {
    return pass(
      explain,
      withheld === undefined
        ? "no Cookie or Authorization header (credentials: forbid)"
        : `no Cookie or Authorization header (credentials: allow does not extend to ${matchedPattern})`,
    );
  }
  const sent = cookie && authorization ? "Cookie and Authorization" : cookie ? "Cookie" : "Authorization";
  return {
    ok: false,
    reason: "credentials_forbidden",
    message:
      withheld === undefined
        ? `${sent} header present but the policy forbids ambient credentials; send a token instead`
        : `${sent} header present, and credentials: allow never extends to ${matchedPattern}: ${withheld}`,
  };
}

function judgeSubprotocol(
  settings: CompiledSettings,
  offered: readonly unknown[],
  selected: string | null,
  explain: boolean,
): CheckResult {
  if (!settings.requireSubprotocol) return pass(explain, "the policy lists no subprotocols: none required or selected");
  if (selected !== null) return pass(explain, `selected subprotocol "${selected}"`);
  // bearer.* entries are left out of the message: they carry the token.
  const shown = offered.filter((name) => typeof name === "string" && !name.startsWith(BEARER_PREFIX));
  const offeredText = shown.length ? shown.map((name) => `"${String(name)}"`).join(", ") : "no subprotocol";
  const allowedText = settings.subprotocols.map((name) => `"${name}"`).join(", ") || "none usable";
  return {
    ok: false,
    reason: "subprotocol_not_allowed",
    message: `offered ${offeredText} (bearer.* entries do not count); the policy allows ${allowedText}`,
  };
}

function judgeOrigin(
  compiled: CompiledPolicy,
  parsed: ParsedOrigin,
  now: number,
  explain: boolean,
): { result: CheckResult; matchedPattern: string | null } {
  switch (parsed.kind) {
    case "malformed":
      return {
        result: { ok: false, reason: "origin_malformed", message: `malformed Origin: ${parsed.message}` },
        matchedPattern: null,
      };
    case "missing":
      return compiled.settings.allowMissingOrigin
        ? {
            result: pass(explain, "no Origin header (a non-browser client): admitted by missingOrigin: allow"),
            matchedPattern: null,
          }
        : {
            result: {
              ok: false,
              reason: "origin_missing",
              message:
                "no Origin header, and missingOrigin: reject refuses clients without one (the * pattern never covers this)",
            },
            matchedPattern: null,
          };
    case "null": {
      const matched = compiled.matchNull(now);
      return matched
        ? { result: pass(explain, 'Origin "null" admitted by the null pattern'), matchedPattern: matched }
        : {
            result: {
              ok: false,
              reason: "origin_null",
              message:
                'Origin "null" (sandboxed iframe, file:// page or redirect) is only admitted by a "null" pattern, and there is none',
            },
            matchedPattern: null,
          };
    }
    case "origin": {
      const matched = compiled.match(parsed, now);
      return matched
        ? { result: pass(explain, `Origin ${parsed.origin} matches ${matched}`), matchedPattern: matched }
        : {
            result: { ok: false, reason: "origin_not_allowed", message: `Origin ${parsed.origin} matches no pattern` },
            matchedPattern: null,
          };
    }
  }
}

function judgeToken(
  compiled: CompiledPolicy,
  request: HandshakeRequest,
  offered: readonly unknown[],
  explain: boolean,
): CheckResult {
  if (!compiled.settings.requireToken) return pass(explain, "token: off — any presented token is ignored");
  return judgePresentedToken(compiled, request, offered, explain);
}

/**
 * What the audit trail records of the token a handshake presented (SPEC §5.2: what an impact
 * preview replays), judged by the same verification as the token check whatever the
 * policy's `token` setting: `none` (no token), `valid`, or `invalid` (bad, expired, several
 * different ones, no tenant secret). Never the token itself. Cheap when no token came: the
 * signature is only checked when one did.
 */
export type TokenState = "none" | "valid" | "invalid";
export const TOKEN_STATES: readonly TokenState[] = ["none", "valid", "invalid"];

export function presentedTokenState(compiled: CompiledPolicy, request: HandshakeRequest): TokenState {
  try {
    const offered: readonly unknown[] = Array.isArray(request.offeredSubprotocols) ? request.offeredSubprotocols : [];
    const param = request.accessTokenParam;
    const hasParam = param !== undefined && param !== null && (!Array.isArray(param) || param.length > 0);
    if (!hasParam && !offered.some((name) => typeof name === "string" && name.startsWith(BEARER_PREFIX))) return "none";
    const result = judgePresentedToken(compiled, request, offered, false);
    return result.ok ? "valid" : result.reason === "token_missing" ? "none" : "invalid";
  } catch {
    return "invalid";
  }
}

/** The token check proper (`token: required`): exactly one token, verified. */
function judgePresentedToken(
  compiled: CompiledPolicy,
  request: HandshakeRequest,
  offered: readonly unknown[],
  explain: boolean,
): CheckResult {
  const candidates = new Set<string>();
  for (const name of offered) {
    if (typeof name === "string" && name.startsWith(BEARER_PREFIX)) candidates.add(name.slice(BEARER_PREFIX.length));
  }
  const param = request.accessTokenParam;
  const params: readonly unknown[] =
    param === undefined || param === null ? [] : Array.isArray(param) ? param : [param];
  if (params.length > 1) {
    return {
      ok: false,
      reason: "token_invalid",
      message: `the access_token parameter appears ${params.length} times (ambiguous); send exactly one`,
    };
  }
  for (const value of params) candidates.add(String(value));
  if (candidates.size === 0) {
    return {
      ok: false,
      reason: "token_missing",
      message: "a token is required: send it as a bearer.<jwt> subprotocol or an access_token query parameter",
    };
  }
  if (candidates.size > 1) {
    return { ok: false, reason: "token_invalid", message: "several different tokens presented; send exactly one" };
  }
  if (compiled.tokenSecret === null) {
    return { ok: false, reason: "token_invalid", message: "this tenant has no token secret, so no token can be valid" };
  }
  const jwt = candidates.values().next().value ?? "";
  const maxLifetimeSeconds = compiled.document?.limits?.maxTokenLifetimeSeconds ?? null;
  let verified = verifyHandshakeToken(jwt, compiled.tokenSecret, compiled.tenant, request.now, {
    maxLifetimeSeconds,
  });
  let withPrevious = false;
  // During a rotation's overlap the replaced secret still verifies (SPEC §7), to the
  // millisecond of its end whatever the time of compilation.
  const previousUntil = compiled.previousTokenSecretUntil;
  if (!verified.ok && compiled.previousTokenSecret !== null && previousUntil !== null && request.now < previousUntil) {
    const older = verifyHandshakeToken(jwt, compiled.previousTokenSecret, compiled.tenant, request.now, {
      maxLifetimeSeconds,
    });
    if (older.ok) {
      verified = older;
      withPrevious = true;
    }
  }
  if (!verified.ok) return { ok: false, reason: "token_invalid", message: `invalid token: ${verified.message}` };
  let message = "";
  if (explain) {
    const subject = typeof verified.claims.sub === "string" ? ` (sub ${verified.claims.sub})` : "";
    const { exp, iat } = verified.claims as { exp: number; iat?: number };
    const lifetime =
      maxLifetimeSeconds === null
        ? ""
        : `; lifetime ${exp - (iat as number)} s, within the policy's maximum of ${maxLifetimeSeconds} s`;
    const secretNote = withPrevious
      ? ` (signed with the previous secret, accepted until ${new Date(previousUntil ?? 0).toISOString()})`
      : "";
    message = `valid token for tenant ${compiled.tenant}${subject}${lifetime}${secretNote}`;
  }
  return { ok: true, message, tokenValidUntil: verified.validUntil };
}
