/**
 * Forward auth (SPEC §5.1): `/authz/<slug>` and `/authz/<slug>/<original path>` answer a
 * proxy's authorization subrequest (nginx `auth_request`, Caddy `forward_auth`, Traefik
 * `forwardAuth`, Envoy `ext_authz` HTTP, HAProxy through docs/deploy/haproxy/origingate.lua)
 * with the same decisions the gateway enforces itself, so one allowlist protects servers
 * that teams already run.
 *
 * The original request, from the subrequest:
 *   - method: `X-Forwarded-Method`, else `X-Original-Method`; in the path form
 *     (`/authz/<slug>/<path>`, Envoy's `path_prefix`) without either, the subrequest's own
 *     method (Envoy forwards the original method);
 *   - URI: `X-Forwarded-Uri`, else `X-Original-URI`; in the path form without either, the
 *     path after the slug and the subrequest's query;
 *   - `Origin`, `Cookie`, `Authorization`, `Sec-WebSocket-*`, `Access-Control-Request-*` as
 *     sent; the client address from `X-Forwarded-For` under TRUST_PROXY.
 * Missing, repeated or malformed method or URI → 403 `bad_request`, never a pass.
 *
 * A WebSocket handshake is recognised by `Sec-WebSocket-Key` (proxies strip `Upgrade`) and
 * gets the handshake decision (origin, credentials, token — from `bearer.*` subprotocols or
 * the original URI's `access_token` — subprotocol) after the tenant's handshake rate;
 * anything else gets the CORS decision (decideCors) after the tenant's request rate. A
 * subrequest that itself carries upgrade headers (Caddy sends `Upgrade`) is answered the
 * same way, as plain HTTP (gateway.ts routes it here from its `upgrade` event).
 *
 * Order of checks: gateway ready (503 — the only 5xx, so proxies fail closed while a
 * gateway starts or stops), the client address's budget of unverified requests before
 * anything about the slug is looked at (rate_limited; limits.ts, UNKNOWN_TENANT_RATE_PER_MIN,
 * shared with handshakes), original method and URI (bad_request), tenant (tenant_unknown),
 * the handshake's own shape (bad_handshake) — these three counted against that budget —,
 * the tenant's rate (rate_limited), the decision.
 *
 * Answer: 200 allow; 401 for token_missing/token_invalid; 403 for every other refusal
 * (rate_limited and tenant_unknown included: nginx turns any other status into a 500;
 * Envoy reads 5xx as an outage). Always `X-OriginGate-Decision`, `X-OriginGate-Reason`,
 * `X-OriginGate-Policy-Version` (when a tenant answered), and for CORS requests the
 * `Access-Control-*` and `Vary` headers under their own names, for the proxy to copy onto
 * its response (preflights included: the shipped proxy configurations answer them
 * themselves from this answer, so a preflight never reaches the upstream).
 *
 * Every answer is bodiless (Content-Length: 0): its headers say everything, and a proxy
 * that reads only the head of a refusal (nginx auth_request) can then keep its connection
 * to the gateway alive instead of closing it on every refused request.
 *
 * Audit: one event per subrequest (kind `handshake`, `http` or `preflight`, via
 * `forward_auth`); the pipeline folds identical ones, accepted included (a proxy asks on
 * every request). An internal fault is a 403 `gateway_unavailable` (fail closed).
 */
import type { IncomingMessage } from "node:http";
import { clientAddress } from "../net/client-address";
import {
  type CorsDecision,
  type Decision,
  decideCors,
  decideHandshake,
  encodeOfferedSubprotocols,
  presentedTokenState,
  type Reason,
} from "../policy";
import { HTTP_TOKEN } from "../policy/document";
import type { TenantRuntime } from "../policy-store/policy-store";
import { enforcedPolicy } from "../policy-store/staged-policy";
import type { GatewayContext } from "./context";
import { type DecisionFacts, decisionLabel, decisionReason, type RequestFacts, recordRequest } from "./http-audit";
import { DECISION_HEADER, POLICY_VERSION_HEADER, REASON_HEADER, type Reply } from "./http-reply";
import { checkHandshake, headerLines } from "./request-headers";
import { requestRateAllowed } from "./request-rate";
import { accessTokenValues } from "./upstream-path";

export const AUTHZ_PREFIX = "/authz/";
/** `/authz/<slug>`, then optionally `/<original path>`, then optionally `?query`. */
const AUTHZ_PATH = /^\/authz\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/s;
/** An origin-form request target as a proxy forwards it: printable ASCII, no space. */
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
const MAX_URI_LENGTH = 8192;
const MAX_METHOD_LENGTH = 32;

/** What the subrequest says about the original request. */
interface Original {
  slug: string;
  method: string;
  uri: string;
}

/** Decides one authorization subrequest; never throws (a fault is a 403). */
export function answerForwardAuth(ctx: GatewayContext, req: IncomingMessage): Reply {
  const facts: RequestFacts = {
    kind: "http",
    via: "forward_auth",
    slug: "",
    known: false,
    origin: null,
    remoteAddr: req.socket.remoteAddress ?? "unknown",
    userAgent: null,
    path: null,
    method: null,
  };
  try {
    facts.remoteAddr = clientAddress(req.socket.remoteAddress, headerLines(req, "x-forwarded-for"), ctx.trustProxy);
    facts.origin = headerLines(req, "origin")?.join(", ") ?? null;
    facts.userAgent = req.headers["user-agent"] ?? null;
    if (req.headers["sec-websocket-key"] !== undefined) facts.kind = "handshake";
    return decide(ctx, req, facts);
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message }, "forward auth failed; refusing (fail closed)");
    recordRequest(ctx, facts, "rejected", "gateway_unavailable");
    return refusal("gateway_unavailable", null);
  }
}

function decide(ctx: GatewayContext, req: IncomingMessage, facts: RequestFacts): Reply {
  if (ctx.stopping || !ctx.store.ready) {
    recordRequest(ctx, facts, "rejected", "gateway_unavailable");
    return {
      status: 503,
      headers: { [DECISION_HEADER]: "rejected", [REASON_HEADER]: "gateway_unavailable", "Retry-After": "1" },
      body: "",
    };
  }
  if (!ctx.rateLimits.addressAllowed(facts.remoteAddr)) {
    // Refused before the slug is looked at: the event names no tenant.
    recordRequest(ctx, facts, "rejected", "rate_limited");
    return refusal("rate_limited", null);
  }
  const original = readOriginal(req);
  if (!original.ok) {
    ctx.rateLimits.countUnverified(facts.remoteAddr);
    facts.slug = original.slug;
    recordRequest(ctx, facts, "rejected", "bad_request");
    ctx.logger.debug({ tenant: original.slug, why: original.message }, "forward auth: unusable subrequest");
    return refusal("bad_request", null);
  }
  facts.slug = original.value.slug;
  facts.method = original.value.method;
  facts.path = original.value.uri;
  if (
    facts.kind !== "handshake" &&
    original.value.method === "OPTIONS" &&
    req.headers["access-control-request-method"] !== undefined
  ) {
    facts.kind = "preflight";
  }
  const runtime = ctx.store.get(original.value.slug);
  if (!runtime) {
    ctx.rateLimits.countUnverified(facts.remoteAddr);
    recordRequest(ctx, facts, "rejected", "tenant_unknown");
    return refusal("tenant_unknown", null);
  }
  facts.slug = runtime.slug;
  facts.known = true;
  return facts.kind === "handshake"
    ? decideHandshakeRequest(ctx, req, facts, runtime, original.value)
    : decideHttpRequest(ctx, req, facts, runtime, original.value);
}

function decideHandshakeRequest(
  ctx: GatewayContext,
  req: IncomingMessage,
  facts: RequestFacts,
  runtime: TenantRuntime,
  original: Original,
): Reply {
  const checked = checkHandshake(req, { method: original.method, subrequest: true });
  if (!checked.ok) {
    ctx.rateLimits.countUnverified(facts.remoteAddr);
    recordRequest(ctx, facts, "rejected", "bad_handshake");
    ctx.logger.debug({ tenant: runtime.slug, why: checked.problem.message }, "forward auth: not a valid handshake");
    return refusal("bad_handshake", runtime.version);
  }
  const offered = checked.offered;
  const policy = enforcedPolicy(runtime, facts.remoteAddr);
  const limits = policy.document.limits;
  if (!requestRateAllowed(ctx, runtime.slug, "handshake", facts.remoteAddr, limits.handshakesPerMinutePerIp)) {
    recordRequest(ctx, facts, "rejected", "rate_limited");
    return refusal("rate_limited", runtime.version);
  }
  const request = {
    origin: headerLines(req, "origin"),
    hasCookie: Boolean(req.headers.cookie),
    hasAuthorization: Boolean(req.headers.authorization),
    offeredSubprotocols: offered,
    // Every value: a repeated access_token is refused as ambiguous by the decision.
    accessTokenParam: accessTokenValues(original.uri),
    now: Date.now(),
  };
  const decision: Decision = decideHandshake(policy, request);
  facts.subprotocol = decision.selectedSubprotocol;
  // What an impact preview replays (SPEC §5.2), as the gateway's own handshakes record it.
  facts.replay = {
    credentials: request.hasCookie || request.hasAuthorization,
    tokenState: decision.tokenValidUntil !== undefined ? "valid" : presentedTokenState(policy, request),
    offeredSubprotocols: encodeOfferedSubprotocols(offered),
  };
  return answer(ctx, facts, decision, {});
}

function decideHttpRequest(
  ctx: GatewayContext,
  req: IncomingMessage,
  facts: RequestFacts,
  runtime: TenantRuntime,
  original: Original,
): Reply {
  const policy = enforcedPolicy(runtime, facts.remoteAddr);
  const limits = policy.document.limits;
  if (!requestRateAllowed(ctx, runtime.slug, "http", facts.remoteAddr, limits.requestsPerMinutePerIp)) {
    recordRequest(ctx, facts, "rejected", "rate_limited");
    return refusal("rate_limited", runtime.version);
  }
  const decision: CorsDecision = decideCors(policy, {
    method: original.method,
    origin: headerLines(req, "origin"),
    requestMethod: headerLines(req, "access-control-request-method"),
    requestHeaders: headerLines(req, "access-control-request-headers"),
    now: Date.now(),
  });
  return answer(ctx, facts, decision, decision.headers);
}

/** The answer for a decision, audited. */
function answer(
  ctx: GatewayContext,
  facts: RequestFacts,
  decision: DecisionFacts,
  corsHeaders: Record<string, string>,
): Reply {
  const label = decisionLabel(decision);
  const reason = decisionReason(decision);
  recordRequest(ctx, facts, label, reason, decision);
  const headers = {
    ...corsHeaders,
    [DECISION_HEADER]: label === "accepted" ? "allowed" : label,
    [REASON_HEADER]: reason,
    [POLICY_VERSION_HEADER]: String(decision.policyVersion),
  };
  return { status: decision.allowed ? 200 : authzStatus(decision.reason), headers, body: "" };
}

/** A refusal before any decision of the policy (no CORS grant). */
function refusal(reason: Reason, policyVersion: number | null): Reply {
  const headers: Record<string, string> = { [DECISION_HEADER]: "rejected", [REASON_HEADER]: reason };
  if (policyVersion !== null) headers[POLICY_VERSION_HEADER] = String(policyVersion);
  return { status: authzStatus(reason), headers, body: "" };
}

/** SPEC §5.1: 401 for a token the client can fix, 403 for everything else. */
export function authzStatus(reason: Reason): number {
  return reason === "token_missing" || reason === "token_invalid" ? 401 : 403;
}

type OriginalResult = { ok: true; value: Original } | { ok: false; slug: string; message: string };

/** The original method and URI (and the slug) of a subrequest, or why they are unusable. */
export function readOriginal(req: IncomingMessage): OriginalResult {
  const match = AUTHZ_PATH.exec(req.url ?? "");
  const slug = match ? decodeSlug(match[1] ?? "") : "";
  if (!match || slug === "") return { ok: false, slug, message: "expected /authz/<tenant>[/<original path>]" };
  const pathForm = match[2] !== undefined;
  const method = single(req, "x-forwarded-method") ?? single(req, "x-original-method");
  const uri = single(req, "x-forwarded-uri") ?? single(req, "x-original-uri");
  if (method === null || uri === null) {
    return {
      ok: false,
      slug,
      message: "X-Forwarded-Method/X-Original-Method or X-Forwarded-Uri/X-Original-URI is given more than once",
    };
  }
  const originalMethod = method ?? (pathForm ? req.method : undefined);
  const originalUri = uri ?? (pathForm ? `${match[2]}${match[3] ?? ""}` : undefined);
  if (originalMethod === undefined) {
    return { ok: false, slug, message: "the original method is missing: send X-Forwarded-Method or X-Original-Method" };
  }
  if (originalUri === undefined) {
    return { ok: false, slug, message: "the original URI is missing: send X-Forwarded-Uri or X-Original-URI" };
  }
  if (originalMethod.length > MAX_METHOD_LENGTH || !HTTP_TOKEN.test(originalMethod)) {
    return { ok: false, slug, message: "the original method is not a method name" };
  }
  if (originalUri.length > MAX_URI_LENGTH || !ORIGIN_FORM.test(originalUri)) {
    return { ok: false, slug, message: "the original URI is not a path (origin-form, printable ASCII)" };
  }
  return { ok: true, value: { slug, method: originalMethod, uri: originalUri } };
}

/** The one value of a header; undefined when absent, null when given more than once. */
function single(req: IncomingMessage, name: string): string | undefined | null {
  const lines = headerLines(req, name);
  if (lines === undefined) return undefined;
  return lines.length === 1 ? lines[0]!.trim() : null;
}

function decodeSlug(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
