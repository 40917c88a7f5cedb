/**
 * HTTP and Server-Sent Events through the gateway (SPEC §4.6, §5): a request to
 * `/t/<slug>/<rest>` that is not a WebSocket upgrade, for a tenant with an upstream, is
 * decided with decideCors and — when allowed — proxied to the upstream's http(s) form
 * (`ws:` → `http:`, `wss:` → `https:`), streamed both ways without buffering.
 *
 * Order of checks (the first failure answers, with `X-OriginGate-Reason`):
 *   1. the gateway is ready and not stopping (503 gateway_unavailable), and the client
 *      address has not spent its budget of unverified requests (429 rate_limited; limits.ts,
 *      UNKNOWN_TENANT_RATE_PER_MIN, shared with handshakes), before the slug is looked at;
 *   2. tenant known (404 tenant_unknown); a tenant without an upstream answers 426 (its
 *      endpoint is WebSocket-only: send a handshake);
 *   3. the path stays under the upstream's base (400 bad_request; upstream-path.ts, the
 *      rule WebSocket upstreams follow) — an unknown tenant and a refused path count
 *      against the budget of step 1;
 *   4. the tenant's request rate per client address, `limits.requestsPerMinutePerIp` (429);
 *   5. the CORS decision: a preflight is answered here (204 or 403) and never forwarded;
 *      an actual request whose Origin (or method) the policy refuses gets 403 before
 *      anything reaches the upstream (a simple cross-site POST would otherwise still run);
 *      no Origin: not a CORS request, it goes on without CORS headers;
 *   6. a declared body over HTTP_MAX_BODY_BYTES: 413 (`bad_request`) before connecting; a
 *      chunked body is counted as it streams and cut at the limit the same way.
 *   7. the upstream: connection refused, or no response head within
 *      HTTP_UPSTREAM_TIMEOUT_MS of silence → 503 upstream_unavailable.
 *
 * Streaming: request and response bodies are piped (backpressure both ways: a slow reader
 * pauses the other side's socket), never collected; SSE events reach the client as the
 * upstream writes them (no compression, Nagle off, headers flushed at once). A client that
 * goes away destroys the upstream request. After the response head, the stream has only an
 * idle timeout: the tenant's `limits.idleTimeoutSeconds` for `text/event-stream` (so
 * heartbeats keep it open, and it has no size limit), HTTP_UPSTREAM_TIMEOUT_MS otherwise.
 *
 * Headers: hop-by-hop fields are dropped both ways (hop-by-hop.ts); the client's `Host`,
 * `Expect`, `X-Forwarded-*` and `X-OriginGate-*` are replaced by the gateway's own
 * (`X-Forwarded-For` = the client address under TRUST_PROXY, `X-Forwarded-Host`,
 * `X-Forwarded-Proto`, `X-OriginGate-Tenant`); the upstream's own `Access-Control-*`
 * headers are dropped and the decision's are set (the gateway owns CORS), `Vary` gets
 * `Origin`, and `X-OriginGate-Decision` says `allowed` or `report_only`.
 *
 * Audit: one event per request (kind `http` or `preflight`, via `gateway`, or `tester` when
 * it carries this process's tester mark: the CORS tester's own runs, server/gateway/tester-mark.ts),
 * recorded when the request is refused or answered, or when the upstream's response head
 * arrives (an upstream failure turns it into the refusal `upstream_unavailable`). The mark,
 * like every `X-OriginGate-*` header, is never forwarded to the upstream.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { Transform, type TransformCallback } from "node:stream";
import { clientAddress } from "../net/client-address";
import {
  CORS_RESPONSE_HEADERS,
  type CorsDecision,
  decideCors,
  REASON_DESCRIPTIONS,
  REASON_STATUS,
  type Reason,
  VARY,
} from "../policy";
import type { TenantRuntime } from "../policy-store/policy-store";
import { enforcedPolicy } from "../policy-store/staged-policy";
import type { GatewayContext } from "./context";
import { endToEndHeaders } from "./hop-by-hop";
import { decisionLabel, decisionReason, type RequestFacts, recordRequest } from "./http-audit";
import { DECISION_HEADER, REASON_HEADER, type Reply, sendReply } from "./http-reply";
import { headerLines } from "./request-headers";
import { requestRateAllowed } from "./request-rate";
import { isTesterRequest } from "./tester-mark";
import { upstreamTarget } from "./upstream-path";

/** Request headers the gateway sets itself (the client's are dropped). */
const REQUEST_DROP: ReadonlySet<string> = new Set([
  "host",
  "expect",
  "content-length",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "forwarded",
]);
const REQUEST_DROP_PREFIXES = ["x-origingate-"];
/** Response headers the gateway owns: the CORS grant, Vary (merged) and its decision headers. */
const RESPONSE_DROP: ReadonlySet<string> = new Set([
  ...CORS_RESPONSE_HEADERS.map((name) => name.toLowerCase()),
  "vary",
]);
const RESPONSE_DROP_PREFIXES = ["x-origingate-"];
const EVENT_STREAM = /^\s*text\/event-stream\b/i;

const agents = {
  http: new http.Agent({ keepAlive: true, maxFreeSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxFreeSockets: 64 }),
};

/** One plain HTTP request to `/t/<slug><rest>`. Never throws; a fault fails closed. */
export function handleTenantHttp(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  slug: string,
  rest: string,
): void {
  const facts: RequestFacts = {
    kind: "http",
    // The CORS tester's own requests (this process's mark): tester traffic, left out of the statistics.
    via: isTesterRequest(req) ? "tester" : "gateway",
    slug,
    known: false,
    origin: null,
    remoteAddr: req.socket.remoteAddress ?? "unknown",
    userAgent: null,
    path: rest,
    method: req.method ?? null,
  };
  try {
    proxy(ctx, req, res, facts, rest);
  } catch (error) {
    ctx.logger.error(
      { err: (error as Error).message, tenant: facts.known ? facts.slug : undefined },
      "HTTP request failed; refusing (fail closed)",
    );
    if (!res.headersSent) refuse(ctx, res, facts, "gateway_unavailable", "internal error");
    else res.destroy();
  }
}

function proxy(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  facts: RequestFacts,
  rest: string,
): void {
  facts.remoteAddr = clientAddress(req.socket.remoteAddress, headerLines(req, "x-forwarded-for"), ctx.trustProxy);
  const originLines = headerLines(req, "origin");
  facts.origin = originLines?.join(", ") ?? null;
  facts.userAgent = req.headers["user-agent"] ?? null;
  const requestMethod = headerLines(req, "access-control-request-method");
  if (req.method === "OPTIONS" && requestMethod !== undefined) facts.kind = "preflight";

  // 1. The gateway itself.
  if (ctx.stopping || !ctx.store.ready)
    return refuse(ctx, res, facts, "gateway_unavailable", "the gateway is not ready");
  if (!ctx.rateLimits.addressAllowed(facts.remoteAddr)) {
    facts.slug = ""; // not looked at: the event names no tenant
    return refuse(ctx, res, facts, "rate_limited", "too many requests to unknown tenants from this address", {
      "Retry-After": String(ctx.rateLimits.retryAfterSeconds(null)),
    });
  }

  // 2. Tenant.
  const runtime = ctx.store.get(facts.slug);
  if (!runtime) {
    ctx.rateLimits.countUnverified(facts.remoteAddr);
    return refuse(ctx, res, facts, "tenant_unknown", "unknown tenant");
  }
  facts.slug = runtime.slug;
  facts.known = true;
  if (!runtime.upstreamUrl) return answerWebSocketOnly(res);

  // 3. Path.
  const joined = upstreamTarget(runtime.upstreamUrl, rest);
  const target = joined.ok ? httpUpstreamUrl(joined.url) : null;
  if (target === null) {
    ctx.rateLimits.countUnverified(facts.remoteAddr);
    return refuse(ctx, res, facts, "bad_request", joined.ok ? "the upstream URL has no HTTP form" : joined.message);
  }

  // 4. Rate.
  const policy = enforcedPolicy(runtime, facts.remoteAddr);
  const limits = policy.document.limits;
  if (!requestRateAllowed(ctx, runtime.slug, "http", facts.remoteAddr, limits.requestsPerMinutePerIp)) {
    return refuse(ctx, res, facts, "rate_limited", "too many requests from this address", {
      "Retry-After": String(ctx.rateLimits.retryAfterSeconds(runtime.slug, true)),
    });
  }

  // 5. CORS.
  const decision = decideCors(policy, {
    method: req.method ?? "",
    origin: originLines,
    requestMethod,
    requestHeaders: headerLines(req, "access-control-request-headers"),
    now: Date.now(),
  });
  if (decision.kind === "preflight" || !decision.allowed) return answerDecision(ctx, res, facts, decision);

  // 6. Declared body size.
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > ctx.httpLimits.maxBodyBytes) {
    return tooLarge(ctx, res, facts, decision);
  }

  // 7. Upstream.
  forward(ctx, req, res, facts, runtime, decision, target);
}

/** A plain request to a tenant without an upstream: its endpoint is WebSocket-only. */
function answerWebSocketOnly(res: ServerResponse): void {
  res.writeHead(426, { Upgrade: "websocket", [REASON_HEADER]: "bad_handshake", "Content-Type": "text/plain" });
  res.end("This is a WebSocket endpoint: send a WebSocket handshake (Upgrade: websocket).\n");
}

/** The joined upstream URL in its http(s) form (ws: → http:, wss: → https:), or null. */
function httpUpstreamUrl(target: string): URL | null {
  const url = new URL(target);
  if (url.protocol === "ws:") url.protocol = "http:";
  else if (url.protocol === "wss:") url.protocol = "https:";
  return url.protocol === "http:" || url.protocol === "https:" ? url : null;
}

/** A refusal before the CORS decision (no grant headers; Vary still, the answer depends on nothing else). */
function refuse(
  ctx: GatewayContext,
  res: ServerResponse,
  facts: RequestFacts,
  reason: Reason,
  message: string,
  extra: Record<string, string> = {},
): void {
  recordRequest(ctx, facts, "rejected", reason);
  sendReply(res, {
    status: REASON_STATUS[reason],
    headers: { [DECISION_HEADER]: "rejected", [REASON_HEADER]: reason, [VARY]: "Origin", ...extra },
    body: `${message}\n`,
  });
}

/** A preflight (any outcome) or a refused actual request: answered here, never forwarded. */
function answerDecision(ctx: GatewayContext, res: ServerResponse, facts: RequestFacts, decision: CorsDecision): void {
  const label = decisionLabel(decision);
  const reason = decisionReason(decision);
  recordRequest(ctx, facts, label, reason, decision);
  const reply: Reply = {
    status: decision.status,
    headers: {
      ...decision.headers,
      [DECISION_HEADER]: label === "accepted" ? "allowed" : label,
      [REASON_HEADER]: reason,
    },
    body: decision.allowed ? "" : `${REASON_DESCRIPTIONS[decision.reason]}\n`,
  };
  sendReply(res, reply);
}

function tooLarge(ctx: GatewayContext, res: ServerResponse, facts: RequestFacts, decision: CorsDecision): void {
  recordRequest(ctx, facts, "rejected", "bad_request", decision);
  sendReply(res, {
    status: 413,
    headers: {
      ...decision.headers,
      [DECISION_HEADER]: "rejected",
      [REASON_HEADER]: "bad_request",
      Connection: "close",
    },
    body: `the request body is larger than ${ctx.httpLimits.maxBodyBytes} bytes\n`,
  });
}

/** Counts request body bytes and fails the stream past the limit. */
class BodyLimit extends Transform {
  private seen = 0;
  exceeded = false;
  constructor(
    private readonly max: number,
    private readonly onChunk: () => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      this.exceeded = true;
      callback(new Error("request body too large"));
      return;
    }
    this.onChunk();
    callback(null, chunk);
  }
}

function forward(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  facts: RequestFacts,
  runtime: TenantRuntime,
  decision: CorsDecision,
  target: URL,
): void {
  // A flat header list keeps the client's lines as they were, but Node then adds no Host.
  const headers = ["Host", target.host, ...endToEndHeaders(req.rawHeaders, REQUEST_DROP, REQUEST_DROP_PREFIXES)];
  const contentLength = req.headers["content-length"];
  if (contentLength !== undefined) headers.push("Content-Length", contentLength);
  headers.push(
    "X-Forwarded-For",
    facts.remoteAddr,
    "X-Forwarded-Host",
    req.headers.host ?? "",
    "X-Forwarded-Proto",
    "http",
    "X-OriginGate-Tenant",
    runtime.slug,
  );
  const transport = target.protocol === "https:" ? https : http;
  const upstreamReq = transport.request(target, {
    method: req.method,
    headers,
    agent: target.protocol === "https:" ? agents.https : agents.http,
  });
  upstreamReq.setNoDelay(true);
  req.socket.setNoDelay(true);

  let settled = false;
  let timer: NodeJS.Timeout | null = null;
  const clearTimer = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  /** Before the response head: the upstream may stay silent at most upstreamTimeoutMs. */
  const armHeadTimer = () => {
    clearTimer();
    timer = setTimeout(() => fail("the upstream did not answer in time"), ctx.httpLimits.upstreamTimeoutMs);
  };
  const accepted = () => {
    if (settled) return;
    settled = true;
    recordRequest(ctx, facts, decisionLabel(decision), decisionReason(decision), decision);
  };
  const fail = (why: string) => {
    clearTimer();
    upstreamReq.destroy();
    if (settled) {
      res.destroy();
      return;
    }
    settled = true;
    ctx.logger.warn({ tenant: runtime.slug, err: why }, "upstream unavailable (HTTP)");
    recordRequest(ctx, facts, "rejected", "upstream_unavailable", decision);
    sendReply(res, {
      status: REASON_STATUS.upstream_unavailable,
      headers: { ...decision.headers, [DECISION_HEADER]: "rejected", [REASON_HEADER]: "upstream_unavailable" },
      body: "the upstream service is unavailable\n",
    });
  };

  // Each uploaded chunk restarts the head timer: the upstream is silent only once it has it all.
  const limit = new BodyLimit(ctx.httpLimits.maxBodyBytes, () => {
    if (!settled) armHeadTimer();
  });
  limit.on("error", () => {
    upstreamReq.destroy();
    if (limit.exceeded && !res.headersSent) {
      settled = true;
      clearTimer();
      tooLarge(ctx, res, facts, decision);
    } else res.destroy();
  });
  req.pipe(limit).pipe(upstreamReq);
  armHeadTimer();
  upstreamReq.on("finish", () => {
    if (!settled) armHeadTimer();
  });

  upstreamReq.on("error", (error) => {
    if (!settled) fail(error.message);
    else res.destroy();
  });

  upstreamReq.on("response", (upstreamRes) => {
    clearTimer();
    if (res.destroyed) {
      upstreamRes.destroy();
      return;
    }
    accepted();
    const eventStream = EVENT_STREAM.test(String(upstreamRes.headers["content-type"] ?? ""));
    const idleMs = eventStream
      ? runtime.compiled.document.limits.idleTimeoutSeconds * 1000
      : ctx.httpLimits.upstreamTimeoutMs;
    const responseHeaders = endToEndHeaders(upstreamRes.rawHeaders, RESPONSE_DROP, RESPONSE_DROP_PREFIXES);
    for (const [name, value] of Object.entries(decision.headers)) {
      if (name === VARY) continue;
      responseHeaders.push(name, value);
    }
    responseHeaders.push(VARY, mergeVary(upstreamRes.headers.vary, decision.headers[VARY] ?? "Origin"));
    responseHeaders.push(DECISION_HEADER, decision.enforced ? "allowed" : "report_only");
    if (eventStream) responseHeaders.push("X-Accel-Buffering", "no");
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders);
    res.flushHeaders();
    const idle = () => {
      clearTimer();
      timer = setTimeout(() => {
        upstreamRes.destroy();
        res.destroy();
      }, idleMs);
    };
    idle();
    upstreamRes.on("data", idle);
    upstreamRes.on("end", clearTimer);
    upstreamRes.on("error", () => res.destroy());
    upstreamRes.pipe(res);
  });

  // The client went away (or the response ended): nothing more goes upstream.
  res.on("close", () => {
    clearTimer();
    if (!res.writableFinished) {
      upstreamReq.destroy();
      accepted();
    }
  });
}

/** The upstream's Vary with Origin added (once), or Origin alone. */
function mergeVary(upstream: string | undefined, ours: string): string {
  if (!upstream) return ours;
  const present = new Set(upstream.split(",").map((v) => v.trim().toLowerCase()));
  if (present.has("*")) return "*";
  const missing = ours
    .split(",")
    .map((v) => v.trim())
    .filter((v) => !present.has(v.toLowerCase()));
  return missing.length === 0 ? upstream : `${upstream}, ${missing.join(", ")}`;
}
