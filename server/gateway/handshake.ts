/**
 * Enforcement of one tenant handshake (`/t/<slug>/<rest>`), before any upgrade.
 *
 * Order of checks (the first failure answers, through abortHandshake):
 *   1. protocol: GET, `Upgrade: websocket`, a valid `Sec-WebSocket-Key` (400), version 13
 *      (426 + `Sec-WebSocket-Version: 13`), a parsable `Sec-WebSocket-Protocol` (400);
 *   2. tenant known (404) and policies loaded (503);
 *   3. handshake rate per client IP (429);
 *   4. the policy decision: origin, credentials, token, subprotocol (server/policy);
 *   5. concurrent connections per tenant (503);
 *   6. upstream reachable, when the tenant has one (502) — connected *before* the client is
 *      upgraded, so a client never sees an upgrade that is then closed.
 * In report-only mode step 4 lets the connection through and the audit event says what
 * enforce would have done. Every handshake — accepted or not — is one audit event.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { clip } from "../audit/types";
import { type Decision, decideHandshake, REASON_DESCRIPTIONS, REASON_STATUS, type Reason } from "../policy";
import type { TenantRuntime } from "../policy-store/policy-store";
import { abortHandshake } from "./abort-handshake";
import type { GatewayContext } from "./gateway";
import { connectUpstream, pipeConnections, serveEcho } from "./relay";

const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 6455 / RFC 7230 token characters for a subprotocol name. */
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface HandshakeInfo {
  tenant: string;
  rest: string;
  remoteAddr: string;
  origin: string | null;
  userAgent: string | null;
  offeredSubprotocols: string[];
  /** Set once the slug names a loaded tenant; metrics label only known tenants. */
  known: boolean;
}

/** Parses `Sec-WebSocket-Protocol` (all header lines); null when malformed. */
export function parseSubprotocols(req: IncomingMessage): string[] | null {
  const lines = req.headersDistinct["sec-websocket-protocol"];
  if (!lines) return [];
  const offered: string[] = [];
  for (const line of lines) {
    for (const part of line.split(",")) {
      const name = part.trim();
      if (!TOKEN_PATTERN.test(name) || offered.includes(name)) return null;
      offered.push(name);
    }
  }
  return offered;
}

export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers["x-forwarded-for"];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? "unknown";
}

/** `rest` without its query string: what audit events and logs may show. */
function pathOnly(rest: string): string {
  const q = rest.indexOf("?");
  return q === -1 ? rest : rest.slice(0, q);
}

/** WebSocketServers per maximum message size: ws applies maxPayload per server. */
const serversByMaxPayload = new Map<number, WebSocketServer>();
const selectedProtocol = new WeakMap<IncomingMessage, string | false>();

function serverFor(maxPayload: number): WebSocketServer {
  let wss = serversByMaxPayload.get(maxPayload);
  if (!wss) {
    wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload,
      // The subprotocol was chosen by our decision (or by the upstream) before the upgrade.
      handleProtocols: (_offered, req) => selectedProtocol.get(req) ?? false,
    });
    serversByMaxPayload.set(maxPayload, wss);
  }
  return wss;
}

export function handleTenantUpgrade(
  ctx: GatewayContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  slug: string,
  rest: string,
): void {
  const info: HandshakeInfo = {
    tenant: slug,
    rest,
    remoteAddr: clientAddress(req, ctx.trustProxy),
    origin: req.headersDistinct.origin?.join(", ") ?? null,
    userAgent: req.headers["user-agent"] ?? null,
    offeredSubprotocols: [],
    known: false,
  };
  const reject = (reason: Reason, message: string, headers?: Record<string, string>, decision?: Decision) => {
    const status = decision?.status ?? REASON_STATUS[reason];
    record(ctx, info, "rejected", reason, decision);
    abortHandshake(socket, status, reason, message, headers);
  };

  // 1. Protocol.
  if (req.method !== "GET") {
    return rejectWith(ctx, info, socket, 405, "bad_handshake", "WebSocket handshakes use GET", { Allow: "GET" });
  }
  if (req.headers.upgrade?.toLowerCase() !== "websocket") return reject("bad_handshake", "Upgrade must be websocket");
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !KEY_PATTERN.test(key.trim()))
    return reject("bad_handshake", "missing or malformed Sec-WebSocket-Key");
  if (req.headers["sec-websocket-version"]?.trim() !== "13") {
    return rejectWith(ctx, info, socket, 426, "bad_handshake", "unsupported WebSocket version (13 is required)", {
      "Sec-WebSocket-Version": "13",
    });
  }
  const offered = parseSubprotocols(req);
  if (offered === null) return reject("bad_handshake", "malformed Sec-WebSocket-Protocol");
  info.offeredSubprotocols = offered;

  // 2. Tenant.
  if (ctx.stopping) return rejectWith(ctx, info, socket, 503, "upstream_unavailable", "gateway is shutting down");
  if (!ctx.store.ready) return rejectWith(ctx, info, socket, 503, "upstream_unavailable", "policies not loaded yet");
  const runtime = ctx.store.get(slug);
  if (!runtime) return reject("tenant_unknown", "unknown tenant");
  info.known = true;
  const limits = runtime.compiled.document.limits;

  // 3. Rate, then 4. policy. (The limiter answers asynchronously.)
  ctx.rateLimits.allow(slug, info.remoteAddr, limits.handshakesPerMinutePerIp).then(
    (withinRate) => {
      if (!withinRate) return reject("rate_limited", "too many handshakes from this address", { "Retry-After": "60" });
      decideAndConnect(ctx, req, socket, head, info, runtime, reject);
    },
    (error: unknown) => {
      ctx.logger.error({ err: (error as Error).message }, "rate limiter failed; refusing");
      rejectWith(ctx, info, socket, 503, "rate_limited", "rate limiter unavailable");
    },
  );
}

type Reject = (reason: Reason, message: string, headers?: Record<string, string>, decision?: Decision) => void;

function decideAndConnect(
  ctx: GatewayContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  info: HandshakeInfo,
  runtime: TenantRuntime,
  reject: Reject,
): void {
  if (socket.destroyed) return;
  const query = new URLSearchParams(info.rest.includes("?") ? info.rest.slice(info.rest.indexOf("?") + 1) : "");
  let decision: Decision;
  try {
    decision = decideHandshake(runtime.compiled, {
      origin: req.headersDistinct.origin,
      hasCookie: Boolean(req.headers.cookie),
      hasAuthorization: Boolean(req.headers.authorization),
      offeredSubprotocols: info.offeredSubprotocols,
      accessTokenParam: query.get("access_token"),
      now: Date.now(),
    });
  } catch (error) {
    // Fail closed: a bug in the engine must never let a handshake through.
    ctx.logger.error({ err: (error as Error).message, tenant: info.tenant }, "decision failed; refusing");
    return reject("origin_malformed", "the gateway could not evaluate this handshake");
  }
  if (!decision.allowed) {
    const headers: Record<string, string> =
      decision.status === 401 ? { "WWW-Authenticate": `Bearer realm="origingate", error="invalid_token"` } : {};
    return reject(decision.reason, REASON_DESCRIPTIONS[decision.reason], headers, decision);
  }

  // 5. Concurrent connections.
  const limits = runtime.compiled.document.limits;
  const release = ctx.connections.reserve(info.tenant, limits.maxConnections);
  if (!release) return reject("connection_limit", "the tenant has reached its connection limit");

  // Browsers fail a handshake whose offered subprotocols get no answer. When neither the
  // policy nor the upstream picked one, the echo target takes the first offered entry;
  // a client that offered only its `bearer.<jwt>` entry gets that entry back (its own token).
  const offered = info.offeredSubprotocols;
  const firstBearer = offered.find((p) => p.startsWith("bearer.")) ?? null;
  const answerFor = (chosen: string | null, echo: boolean) =>
    chosen ??
    (echo
      ? (offered.find((p) => !p.startsWith("bearer.")) ?? firstBearer)
      : offered.every((p) => p.startsWith("bearer."))
        ? firstBearer
        : null);
  const accept = (chosenProtocol: string | null, upstream: WebSocket | null) => {
    if (socket.destroyed) {
      release();
      upstream?.terminate();
      return;
    }
    selectedProtocol.set(req, chosenProtocol ?? false);
    serverFor(limits.maxMessageBytes).handleUpgrade(req, socket, head, (client) =>
      serveAccepted(ctx, client, info, decision, chosenProtocol, upstream, release, limits.idleTimeoutSeconds),
    );
  };

  // 6. Upstream first, then the client.
  if (!runtime.upstreamUrl) return accept(answerFor(decision.selectedSubprotocol, true), null);
  // Offered subprotocols the policy allows (all, when it lists none); never the token.
  const { requireSubprotocol, subprotocolSet } = runtime.compiled.settings;
  const forwarded = info.offeredSubprotocols.filter(
    (p) => !p.startsWith("bearer.") && (!requireSubprotocol || subprotocolSet.has(p)),
  );
  connectUpstream(runtime.upstreamUrl, info.rest, forwarded, {
    maxPayload: limits.maxMessageBytes,
    forwardedFor: info.remoteAddr,
    tenant: info.tenant,
  }).then(
    (upstream) => accept(answerFor(upstream.protocol || null, false), upstream),
    (error: Error) => {
      release();
      ctx.logger.warn({ tenant: info.tenant, err: error.message }, "upstream unavailable");
      reject("upstream_unavailable", "the upstream service is unavailable", undefined, {
        ...decision,
        allowed: false,
        reason: "upstream_unavailable",
        status: REASON_STATUS.upstream_unavailable,
      });
    },
  );
}

/**
 * Everything that lives as long as an accepted connection: tracking, its two audit events
 * (accepted, then close) and the relay or echo. Module-level on purpose: a closure keeps
 * its whole enclosing scope alive, so listeners created inside decideAndConnect would pin
 * the handshake's IncomingMessage (headers and all), socket and head buffer for the life of
 * the connection (bench:connections measured ~3 KiB of heap per connection from that).
 */
function serveAccepted(
  ctx: GatewayContext,
  client: WebSocket,
  info: HandshakeInfo,
  decision: Decision,
  chosenProtocol: string | null,
  upstream: WebSocket | null,
  release: () => void,
  idleTimeoutSeconds: number,
): void {
  const openedAt = Date.now();
  const tracked = ctx.connections.track(
    {
      tenant: info.tenant,
      ws: client,
      openedAt,
      idleTimeoutMs: idleTimeoutSeconds * 1000,
      onDrain: upstream ? closeOnDrain(upstream) : undefined,
    },
    release,
  );
  record(ctx, info, decision.enforced ? "accepted" : "report_only", decision.wouldReject ?? "allowed", decision, {
    subprotocol: chosenProtocol,
  });
  client.once("close", (code) => {
    record(ctx, info, decision.enforced ? "accepted" : "report_only", "allowed", decision, {
      kind: "close",
      subprotocol: chosenProtocol,
      closeCode: code,
      durationMs: Date.now() - tracked.openedAt,
    });
  });
  if (upstream) pipeConnections(client, upstream, ctx.logger);
  else serveEcho(client);
}

/** Closes the upstream too when the gateway drains (an unnamed closure: see serveAccepted). */
function closeOnDrain(upstream: WebSocket): () => void {
  return () => upstream.close(1001, "gateway shutting down");
}

/** Rejection with an explicit status (protocol errors, shutdown) — still via abortHandshake. */
function rejectWith(
  ctx: GatewayContext,
  info: HandshakeInfo,
  socket: Duplex,
  status: number,
  reason: Reason,
  message: string,
  headers?: Record<string, string>,
): void {
  record(ctx, info, "rejected", reason);
  abortHandshake(socket, status, reason, message, headers);
}

function record(
  ctx: GatewayContext,
  info: HandshakeInfo,
  decisionLabel: "accepted" | "rejected" | "report_only",
  reason: string,
  decision?: Decision,
  extra: { kind?: "close"; subprotocol?: string | null; closeCode?: number; durationMs?: number } = {},
): void {
  // Attacker-chosen slugs must not create metric series: unknown tenants share one label.
  const tenantLabel = info.known ? info.tenant : "_unknown";
  if (!extra.kind) ctx.metrics.handshakes.inc({ tenant: tenantLabel, decision: decisionLabel, reason });
  ctx.audit.record({
    ts: Date.now(),
    kind: extra.kind ?? "handshake",
    tenant: info.tenant,
    decision: decisionLabel,
    reason,
    origin: clip(info.origin),
    originNormalized: decision?.normalizedOrigin ?? null,
    remoteAddr: info.remoteAddr,
    userAgent: clip(info.userAgent, 256),
    path: clip(pathOnly(info.rest), 256),
    subprotocol: redactBearer(extra.subprotocol ?? null),
    policyVersion: decision?.policyVersion ?? null,
    matchedPattern: decision?.matchedPattern ?? null,
    closeCode: extra.closeCode ?? null,
    durationMs: extra.durationMs ?? null,
  });
}

/** A `bearer.<jwt>` subprotocol is a credential: audit rows (and the live feed) never hold it. */
function redactBearer(subprotocol: string | null): string | null {
  return subprotocol?.startsWith("bearer.") ? "bearer.[redacted]" : subprotocol;
}
