/**
 * decideCors: the decision for one HTTP or Server-Sent Events request (SPEC §4.6) — an
 * actual request or a preflight — and the exact CORS response headers that go with it.
 * The same origin parser and compiled matcher as decideHandshake (parseOrigin,
 * CompiledPolicy.match / matchNull), so an origin is allowed for HTTP exactly when it is
 * allowed for WebSocket. Pure: the gateway and forward auth extract the headers and the
 * time; this module only judges. `explainCors` records each check (same code path).
 *
 * A preflight is `OPTIONS` with `Access-Control-Request-Method` (Fetch); it is answered by
 * OriginGate and never forwarded. Every other request is "actual".
 *
 * Order of checks — the first failing one decides the reason:
 *   1. origin   actual: no Origin → not a CORS request, it passes without CORS headers;
 *               preflight: no Origin → origin_missing (a browser's preflight always has
 *               one). Malformed → origin_malformed; `null` → only the `null` pattern, else
 *               origin_null; otherwise the allowlist → origin_not_allowed.
 *   2. method   the request's method (actual) or the single Access-Control-Request-Method
 *               (preflight) must be in `cors.methods`, compared case-sensitively, or `*`
 *               listed with credentials forbidden → else cors_method_not_allowed. Applied to
 *               actual CORS requests too: a cross-site form POST is a "simple" request that
 *               browsers never preflight, and a policy without POST means no POST.
 *   3. headers  preflight only: every name in Access-Control-Request-Headers (all lines,
 *               comma-separated, optional whitespace) must be in `cors.allowHeaders`,
 *               compared case-insensitively, or `*` listed with credentials forbidden —
 *               which never covers `authorization` → else cors_header_not_allowed (a
 *               malformed list as well).
 * `credentials`, `token`, `missingOrigin` and `subprotocols` are WebSocket-only: for HTTP
 * the credentials switch only decides `Access-Control-Allow-Credentials`.
 *
 * Response headers (jub0bs/cors is the model):
 *   - every response gets `Vary: Origin` (preflights: `Vary: Origin,
 *     Access-Control-Request-Method, Access-Control-Request-Headers`), allowed or not, with
 *     or without an Origin: what a cache may reuse always depends on the Origin;
 *   - an allowed CORS request: `Access-Control-Allow-Origin` = the Origin as sent (a `*`
 *     pattern with credentials forbidden: `*`); `Access-Control-Allow-Credentials: true`
 *     exactly when credentials are `allow` and the pattern that matched is neither `*` nor
 *     `null` nor one compilePolicy withholds credentials from (`credentialsWithheld`); actual requests add `Access-Control-Expose-Headers` when the policy lists
 *     any; preflights add `Access-Control-Allow-Methods`, `Access-Control-Allow-Headers`
 *     (only what the policy lists) and `Access-Control-Max-Age` and answer 204;
 *   - a refusal carries no grant at all (only Vary) and is 403 with the reason.
 *
 * report-only: nothing is refused (actual requests go on, preflights are answered 204),
 * the decision says what enforce would have refused (`wouldReject`), and the grant headers
 * are still exactly what the policy allows — report-only relaxes the gateway's refusals,
 * never the browser's own CORS check (a response the policy would not share stays
 * unreadable to the page).
 *
 * Fail closed: an exception anywhere is a refusal, enforced even in report-only mode.
 * Browser-safe (no token verification is involved).
 */
import type { CompiledPolicy } from "./compile-policy";
import { HTTP_TOKEN } from "./document";
import { type ParsedOrigin, parseOrigin } from "./parse-origin";
import { REASON_STATUS, type Reason } from "./reasons";
import type { ExplainStep } from "./types";

export const ACAO = "Access-Control-Allow-Origin";
export const ACAC = "Access-Control-Allow-Credentials";
export const ACAM = "Access-Control-Allow-Methods";
export const ACAH = "Access-Control-Allow-Headers";
export const ACEH = "Access-Control-Expose-Headers";
export const ACMA = "Access-Control-Max-Age";
export const VARY = "Vary";
/** Every response header decideCors may produce (proxies and the gateway strip upstream copies of them). */
export const CORS_RESPONSE_HEADERS = [ACAO, ACAC, ACAM, ACAH, ACEH, ACMA] as const;
export const VARY_ACTUAL = "Origin";
export const VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/** The status of a successful preflight: no content, headers only. */
export const PREFLIGHT_OK_STATUS = 204;
/** The nominal status of an actual request that goes on to the upstream. */
export const FORWARD_STATUS = 200;
/** Request header names longer than any sane header; a longer name is malformed. */
const MAX_HEADER_NAME = 256;
const OWS = /^[ \t]+|[ \t]+$/g;
/** A refusal whose cause was an internal fault (fail closed; SPEC §4.4: never another code). */
const INTERNAL_FAULT: Reason = "gateway_unavailable";

export interface CorsRequest {
  /** The request method as sent (not case-normalised: methods are case-sensitive). */
  method: string;
  /** The Origin header's lines (several lines are malformed), undefined when absent. */
  origin: string | readonly string[] | undefined;
  /** Access-Control-Request-Method lines; their presence on OPTIONS makes a preflight. */
  requestMethod?: string | readonly string[] | undefined;
  /** Access-Control-Request-Headers lines. */
  requestHeaders?: string | readonly string[] | undefined;
  /** Epoch ms (entries' expiries). */
  now: number;
}

export type CorsHeaders = Record<string, string>;

export interface CorsDecision {
  kind: "preflight" | "actual";
  /** The request carried an Origin header (a CORS request). */
  cors: boolean;
  /** Actual: may go on to the upstream. Preflight: answered 204. */
  allowed: boolean;
  reason: Reason;
  /** The status the gateway answers with itself: 204 (preflight), 403 (refusal), or 200 = goes on. */
  status: number;
  enforced: boolean;
  /** report-only: what enforce would have refused with. */
  wouldReject?: Reason;
  matchedPattern: string | null;
  policyVersion: number;
  /** Canonical origin, "null" for the opaque origin, null when missing or malformed. */
  normalizedOrigin: string | null;
  /** The response headers of this decision (CORS grant and Vary). */
  headers: CorsHeaders;
  /** Why a check failed, in words; for logs and the tester. */
  detail?: string;
}

export interface CorsExplanation {
  decision: CorsDecision;
  steps: ExplainStep[];
}

type Failure = { reason: Reason; message: string };

/** True for a CORS preflight: OPTIONS with Access-Control-Request-Method (Fetch). */
export function isCorsPreflight(method: string, requestMethod: string | readonly string[] | undefined): boolean {
  return method === "OPTIONS" && requestMethod !== undefined;
}

export function decideCors(compiled: CompiledPolicy, request: CorsRequest): CorsDecision {
  return evaluateCors(compiled, request, null);
}

export function explainCors(compiled: CompiledPolicy, request: CorsRequest): CorsExplanation {
  const steps: ExplainStep[] = [];
  return { decision: evaluateCors(compiled, request, steps), steps };
}

function evaluateCors(compiled: CompiledPolicy, request: CorsRequest, trace: ExplainStep[] | null): CorsDecision {
  let preflight = false;
  try {
    preflight = isCorsPreflight(request.method, request.requestMethod);
    return evaluate(compiled, request, preflight, trace);
  } catch {
    trace?.push({ check: "mode", outcome: "fail", message: "internal error while deciding: refused (fail closed)" });
    return {
      kind: preflight ? "preflight" : "actual",
      cors: request?.origin !== undefined,
      allowed: false,
      reason: INTERNAL_FAULT,
      status: REASON_STATUS[INTERNAL_FAULT],
      enforced: true,
      matchedPattern: null,
      policyVersion: typeof compiled?.version === "number" ? compiled.version : -1,
      normalizedOrigin: null,
      headers: { [VARY]: preflight ? VARY_PREFLIGHT : VARY_ACTUAL },
      detail: "internal error while deciding: refused (fail closed)",
    };
  }
}

function evaluate(
  compiled: CompiledPolicy,
  request: CorsRequest,
  preflight: boolean,
  trace: ExplainStep[] | null,
): CorsDecision {
  const settings = compiled.settings;
  const cors = settings.cors;
  const headers: CorsHeaders = { [VARY]: preflight ? VARY_PREFLIGHT : VARY_ACTUAL };
  const base = {
    kind: preflight ? ("preflight" as const) : ("actual" as const),
    cors: request.origin !== undefined,
    policyVersion: compiled.version,
    headers,
  };

  // 1. Origin.
  const parsed = parseOrigin(request.origin);
  if (parsed.kind === "missing" && !preflight) {
    trace?.push({
      check: "origin",
      outcome: "pass",
      message: "no Origin header: not a CORS request; it passes without CORS headers",
    });
    trace?.push({ check: "method", outcome: "skip", message: "not a CORS request" });
    trace?.push({ check: "mode", outcome: "info", message: "forwarded to the upstream (only Vary: Origin is added)" });
    return {
      ...base,
      allowed: true,
      reason: "allowed",
      status: FORWARD_STATUS,
      enforced: settings.enforce,
      matchedPattern: null,
      normalizedOrigin: null,
    };
  }
  const normalizedOrigin = parsed.kind === "origin" ? parsed.origin : parsed.kind === "null" ? "null" : null;
  const origin = judgeOrigin(compiled, parsed, request.now);
  const matchedPattern = origin.matchedPattern;
  let failure: Failure | null = origin.failure;
  trace?.push(
    failure
      ? { check: "origin", outcome: "fail", message: failure.message }
      : { check: "origin", outcome: "pass", message: origin.message },
  );

  // 2. Method.
  if (failure) trace?.push({ check: "method", outcome: "skip", message: SKIPPED });
  else {
    const method = judgeMethod(cors, preflight ? request.requestMethod : request.method, preflight);
    failure = method.failure;
    trace?.push(
      method.failure
        ? { check: "method", outcome: "fail", message: method.failure.message }
        : { check: "method", outcome: "pass", message: method.message },
    );
  }

  // 3. Headers (preflight only).
  if (preflight) {
    if (failure) trace?.push({ check: "headers", outcome: "skip", message: SKIPPED });
    else {
      const judged = judgeHeaders(cors, request.requestHeaders);
      failure = judged.failure;
      trace?.push(
        judged.failure
          ? { check: "headers", outcome: "fail", message: judged.failure.message }
          : { check: "headers", outcome: "pass", message: judged.message },
      );
    }
  }

  // The grant: what the policy allows. An enforced refusal carries none (only Vary).
  if (origin.failure === null && (failure === null || !settings.enforce)) {
    grant(headers, compiled, request, preflight, matchedPattern, failure === null);
  }

  if (failure === null) {
    trace?.push({
      check: "mode",
      outcome: "info",
      message: preflight
        ? `preflight answered ${PREFLIGHT_OK_STATUS} by OriginGate with the CORS headers (never forwarded)`
        : `forwarded to the upstream with ${ACAO}: ${headers[ACAO]}`,
    });
    return {
      ...base,
      allowed: true,
      reason: "allowed",
      status: preflight ? PREFLIGHT_OK_STATUS : FORWARD_STATUS,
      enforced: settings.enforce,
      matchedPattern,
      normalizedOrigin,
    };
  }
  if (settings.enforce) {
    trace?.push({
      check: "mode",
      outcome: "info",
      message: `enforce: refused with ${failure.reason} (HTTP ${REASON_STATUS[failure.reason]})${preflight ? "" : " before it reaches the upstream"}`,
    });
    return {
      ...base,
      allowed: false,
      reason: failure.reason,
      status: REASON_STATUS[failure.reason],
      enforced: true,
      matchedPattern,
      normalizedOrigin,
      detail: failure.message,
    };
  }
  trace?.push({
    check: "mode",
    outcome: "info",
    message: `report-only: ${preflight ? `answered ${PREFLIGHT_OK_STATUS}` : "forwarded"}, but enforce would have refused it with ${failure.reason}; the CORS headers still grant only what the policy allows`,
  });
  return {
    ...base,
    allowed: true,
    reason: failure.reason,
    status: preflight ? PREFLIGHT_OK_STATUS : FORWARD_STATUS,
    enforced: false,
    wouldReject: failure.reason,
    matchedPattern,
    normalizedOrigin,
    detail: failure.message,
  };
}

const SKIPPED = "not evaluated: an earlier check failed";

/**
 * The grant headers for an allowed origin. In report-only, a preflight whose method or
 * headers failed still names the origin but lists only the policy's methods and headers
 * (and no Max-Age), so the browser's own check refuses what the policy refuses.
 */
function grant(
  headers: CorsHeaders,
  compiled: CompiledPolicy,
  request: CorsRequest,
  preflight: boolean,
  matchedPattern: string | null,
  passed: boolean,
): void {
  const cors = compiled.settings.cors;
  const wildcard = matchedPattern === "*";
  headers[ACAO] = wildcard ? "*" : singleLine(request.origin);
  // Never for `*` or `null`, nor for an entry compilePolicy withholds credentials from
  // (a wildcard over public suffixes: credential-rules.ts), whatever the switch says.
  if (
    !compiled.settings.forbidCredentials &&
    matchedPattern !== null &&
    !wildcard &&
    matchedPattern !== "null" &&
    !compiled.credentialsWithheld.has(matchedPattern)
  ) {
    headers[ACAC] = "true";
  }
  if (!preflight) {
    if (cors.exposeHeadersValue !== null) headers[ACEH] = cors.exposeHeadersValue;
    return;
  }
  if (cors.allowMethodsValue !== null) headers[ACAM] = cors.allowMethodsValue;
  if (cors.allowHeadersValue !== null) headers[ACAH] = cors.allowHeadersValue;
  if (passed) headers[ACMA] = cors.maxAgeValue;
}

function singleLine(value: string | readonly string[] | undefined): string {
  return typeof value === "string" ? value : (value?.[0] ?? "");
}

function judgeOrigin(
  compiled: CompiledPolicy,
  parsed: ParsedOrigin,
  now: number,
): { failure: Failure | null; matchedPattern: string | null; message: string } {
  switch (parsed.kind) {
    case "missing":
      return {
        failure: {
          reason: "origin_missing",
          message: "a preflight without an Origin header: browsers always send one, so this is not a CORS preflight",
        },
        matchedPattern: null,
        message: "",
      };
    case "malformed":
      return {
        failure: { reason: "origin_malformed", message: `malformed Origin: ${parsed.message}` },
        matchedPattern: null,
        message: "",
      };
    case "null": {
      const matched = compiled.matchNull(now);
      return matched
        ? { failure: null, matchedPattern: matched, message: 'Origin "null" admitted by the null pattern' }
        : {
            failure: {
              reason: "origin_null",
              message:
                'Origin "null" (sandboxed iframe, file:// page or redirect) is only admitted by a "null" pattern, and there is none',
            },
            matchedPattern: null,
            message: "",
          };
    }
    case "origin": {
      const matched = compiled.match(parsed, now);
      return matched
        ? { failure: null, matchedPattern: matched, message: `Origin ${parsed.origin} matches ${matched}` }
        : {
            failure: { reason: "origin_not_allowed", message: `Origin ${parsed.origin} matches no pattern` },
            matchedPattern: null,
            message: "",
          };
    }
  }
}

function judgeMethod(
  cors: CompiledPolicy["settings"]["cors"],
  value: string | readonly string[] | undefined,
  preflight: boolean,
): { failure: Failure | null; message: string } {
  const what = preflight ? "Access-Control-Request-Method" : "the method";
  const lines = value === undefined ? [] : typeof value === "string" ? [value] : value;
  if (lines.length !== 1 || !HTTP_TOKEN.test(lines[0] ?? "")) {
    return {
      failure: {
        reason: "cors_method_not_allowed",
        message: `${what} must be exactly one method name (got ${lines.length === 1 ? JSON.stringify(lines[0]) : `${lines.length} values`})`,
      },
      message: "",
    };
  }
  const method = lines[0]!;
  if (cors.methods.has(method)) return { failure: null, message: `method ${method} is in cors.methods` };
  if (cors.anyMethod) return { failure: null, message: `method ${method} is covered by "*" (credentials forbidden)` };
  const listed = [...cors.methods].join(", ") || "none";
  const caseHint = [...cors.methods].some((m) => m.toLowerCase() === method.toLowerCase())
    ? " (methods are compared case-sensitively)"
    : "";
  return {
    failure: {
      reason: "cors_method_not_allowed",
      message: `${what} ${method} is not in cors.methods (${listed})${caseHint}`,
    },
    message: "",
  };
}

function judgeHeaders(
  cors: CompiledPolicy["settings"]["cors"],
  value: string | readonly string[] | undefined,
): { failure: Failure | null; message: string } {
  const lines = value === undefined ? [] : typeof value === "string" ? [value] : value;
  const requested: string[] = [];
  for (const line of lines) {
    for (const part of line.split(",")) {
      const name = part.replace(OWS, "");
      if (name === "") continue;
      if (name.length > MAX_HEADER_NAME || !HTTP_TOKEN.test(name)) {
        return {
          failure: {
            reason: "cors_header_not_allowed",
            message: "Access-Control-Request-Headers is not a comma-separated list of header names",
          },
          message: "",
        };
      }
      requested.push(name.toLowerCase());
    }
  }
  if (requested.length === 0) return { failure: null, message: "no request headers asked for" };
  for (const name of requested) {
    if (cors.allowHeaders.has(name)) continue;
    if (cors.anyHeader && name !== "authorization") continue;
    const why = name === "authorization" && cors.anyHeader ? ' ("*" never covers Authorization: name it)' : "";
    return {
      failure: {
        reason: "cors_header_not_allowed",
        message: `request header ${name} is not in cors.allowHeaders (${[...cors.allowHeaders].join(", ") || "none"})${why}`,
      },
      message: "",
    };
  }
  return { failure: null, message: `request headers ${requested.join(", ")} are allowed` };
}
