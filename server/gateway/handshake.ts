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
 *   6. upstream reachable, when the tenant has one (503) — connected *before* the client is
 *      upgraded, so a client never sees an upgrade that is then closed.
 * In report-only mode step 4 lets the connection through and the audit event says what
 * enforce would have done. Every handshake — accepted or not — is one audit event.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { type AuditDecision, type AuditEventInput, clip } from "../audit/types";
import { clientAddress } from "../net/client-address";
import {
  type Decision,
  decideHandshake,
  type HandshakeRequest,
  REASON_DESCRIPTIONS,
  REASON_STATUS,
  type Reason,
} from "../policy";
import type { TenantRuntime } from "../policy-store/policy-store";
import { abortHandshake } from "./abort-handshake";
import { GatewaySocket } from "./connections";
import type { GatewayContext } from "./gateway";
import { connectUpstream, relay } from "./relay";

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

/**
 * Every line of request header `name` (given in lower case), in order; undefined when
 * absent. Reads `rawHeaders` directly: `req.headersDistinct` would build the line list of
 * every header of the request on each handshake, for the two this module needs.
 */
export function headerLines(req: IncomingMessage, name: string): string[] | undefined {
  const raw = req.rawHeaders;
  let lines: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    if (lines) lines.push(raw[i + 1]!);
    else lines = [raw[i + 1]!];
  }
  return lines;
}

/** Parses `Sec-WebSocket-Protocol` (all header lines); null when malformed. */
export function parseSubprotocols(req: IncomingMessage): string[] | null {
  const lines = headerLines(req, "sec-websocket-protocol");
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
      WebSocket: GatewaySocket,
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
  const originLines = headerLines(req, "origin");
  const info: HandshakeInfo = {
    tenant: slug,
    rest,
    remoteAddr: clientAddress(req.socket.remoteAddress, headerLines(req, "x-forwarded-for"), ctx.trustProxy),
    origin: originLines?.join(", ") ?? null,
    userAgent: req.headers["user-agent"] ?? null,
    offeredSubprotocols: [],
    known: false,
  };

  // 1. Protocol.
  if (req.method !== "GET") {
    return refuse(ctx, info, socket, "bad_handshake", "WebSocket handshakes use GET", {
      status: 405,
      headers: { Allow: "GET" },
    });
  }
  if (req.headers.upgrade?.toLowerCase() !== "websocket") {
    return refuse(ctx, info, socket, "bad_handshake", "Upgrade must be websocket");
  }
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !KEY_PATTERN.test(key.trim())) {
    return refuse(ctx, info, socket, "bad_handshake", "missing or malformed Sec-WebSocket-Key");
  }
  if (req.headers["sec-websocket-version"]?.trim() !== "13") {
    return refuse(ctx, info, socket, "bad_handshake", "unsupported WebSocket version (13 is required)", {
      status: 426,
      headers: { "Sec-WebSocket-Version": "13" },
    });
  }
  const offered = parseSubprotocols(req);
  if (offered === null) return refuse(ctx, info, socket, "bad_handshake", "malformed Sec-WebSocket-Protocol");
  info.offeredSubprotocols = offered;

  // 2. Tenant.
  if (ctx.stopping) {
    return refuse(ctx, info, socket, "upstream_unavailable", "gateway is shutting down", { status: 503 });
  }
  if (!ctx.store.ready) {
    return refuse(ctx, info, socket, "upstream_unavailable", "policies not loaded yet", { status: 503 });
  }
  const runtime = ctx.store.get(slug);
  if (!runtime) return refuse(ctx, info, socket, "tenant_unknown", "unknown tenant");
  info.known = true;

  // 3. Rate, then 4. policy and the rest.
  rateThenDecide({ ctx, req, socket, head, info, runtime, originLines }).catch((error: unknown) => {
    // A bug past the decision: fail closed for this client, keep serving everyone else.
    ctx.logger.error({ err: (error as Error).message, tenant: info.tenant }, "handshake failed; closing");
    socket.destroy();
  });
}

/** A tenant handshake that passed the protocol and tenant checks, until it is refused or upgraded. */
interface Attempt {
  ctx: GatewayContext;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  info: HandshakeInfo;
  runtime: TenantRuntime;
  /** The Origin header's lines, as sent (the decision parses them). */
  originLines: string[] | undefined;
  /** What the decision judged: kept with the connection to judge it again (SPEC §4.5). */
  facts?: HandshakeRequest;
}

/** Refuses the handshake before any upgrade: one audit event, one HTTP answer. */
function refuse(
  ctx: GatewayContext,
  info: HandshakeInfo,
  socket: Duplex,
  reason: Reason,
  message: string,
  options: { status?: number; headers?: Record<string, string>; decision?: Decision } = {},
): void {
  record(ctx, info, "rejected", reason, options.decision);
  const status = options.status ?? options.decision?.status ?? REASON_STATUS[reason];
  abortHandshake(socket, status, reason, message, options.headers);
}

/** 3. The per-IP handshake rate (the limiter answers asynchronously), then the decision. */
async function rateThenDecide(attempt: Attempt): Promise<void> {
  const { ctx, info, socket, runtime } = attempt;
  let withinRate: boolean;
  try {
    withinRate = await ctx.rateLimits.allow(
      info.tenant,
      info.remoteAddr,
      runtime.compiled.document.limits.handshakesPerMinutePerIp,
    );
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message }, "rate limiter failed; refusing");
    return refuse(ctx, info, socket, "rate_limited", "rate limiter unavailable", { status: 503 });
  }
  if (!withinRate) {
    return refuse(ctx, info, socket, "rate_limited", "too many handshakes from this address", {
      headers: { "Retry-After": "60" },
    });
  }
  await decideAndConnect(attempt);
}

async function decideAndConnect(attempt: Attempt): Promise<void> {
  const { ctx, req, socket, info, runtime, originLines } = attempt;
  if (socket.destroyed) return;
  const q = info.rest.indexOf("?");
  let decision: Decision;
  try {
    attempt.facts = {
      origin: originLines,
      hasCookie: Boolean(req.headers.cookie),
      hasAuthorization: Boolean(req.headers.authorization),
      offeredSubprotocols: info.offeredSubprotocols,
      accessTokenParam: q === -1 ? null : new URLSearchParams(info.rest.slice(q + 1)).get("access_token"),
      now: Date.now(),
    };
    decision = decideHandshake(runtime.compiled, attempt.facts);
  } catch (error) {
    // Fail closed: a bug in the engine must never let a handshake through.
    ctx.logger.error({ err: (error as Error).message, tenant: info.tenant }, "decision failed; refusing");
    return refuse(ctx, info, socket, "origin_malformed", "the gateway could not evaluate this handshake");
  }
  if (!decision.allowed) {
    const headers: Record<string, string> | undefined =
      decision.status === 401 ? { "WWW-Authenticate": `Bearer realm="origingate", error="invalid_token"` } : undefined;
    return refuse(ctx, info, socket, decision.reason, REASON_DESCRIPTIONS[decision.reason], { headers, decision });
  }

  // 5. Concurrent connections.
  const limits = runtime.compiled.document.limits;
  if (!ctx.connections.reserve(info.tenant, limits.maxConnections)) {
    return refuse(ctx, info, socket, "connection_limit", "the tenant has reached its connection limit");
  }

  // 6. Upstream first, then the client.
  if (!runtime.upstreamUrl) {
    const protocol = answerSubprotocol(info.offeredSubprotocols, decision.selectedSubprotocol, true);
    return upgradeClient(attempt, decision, protocol, null);
  }
  // Offered subprotocols the policy allows (all, when it lists none); never the token.
  const { requireSubprotocol, subprotocolSet } = runtime.compiled.settings;
  const forwarded = info.offeredSubprotocols.filter(
    (p) => !p.startsWith("bearer.") && (!requireSubprotocol || subprotocolSet.has(p)),
  );
  let upstream: GatewaySocket;
  try {
    upstream = await connectUpstream(runtime.upstreamUrl, info.rest, forwarded, {
      maxPayload: limits.maxMessageBytes,
      forwardedFor: info.remoteAddr,
      tenant: info.tenant,
    });
  } catch (error) {
    ctx.connections.unreserve(info.tenant);
    ctx.logger.warn({ tenant: info.tenant, err: (error as Error).message }, "upstream unavailable");
    return refuse(ctx, info, socket, "upstream_unavailable", "the upstream service is unavailable", {
      decision: {
        ...decision,
        allowed: false,
        reason: "upstream_unavailable",
        status: REASON_STATUS.upstream_unavailable,
      },
    });
  }
  try {
    upgradeClient(
      attempt,
      decision,
      answerSubprotocol(info.offeredSubprotocols, upstream.protocol || null, false),
      upstream,
    );
  } catch (error) {
    upstream.terminate(); // the fault reaches handleTenantUpgrade's catch, which closes the client
    throw error;
  }
}

/**
 * The subprotocol to answer. Browsers fail a handshake whose offered subprotocols get no
 * answer: when neither the policy nor the upstream picked one (`chosen`), the echo target
 * takes the first offered entry, and a client that offered only its `bearer.<jwt>` entry
 * gets that entry back (its own token).
 */
function answerSubprotocol(offered: string[], chosen: string | null, echo: boolean): string | null {
  if (chosen) return chosen;
  const firstBearer = offered.find((p) => p.startsWith("bearer.")) ?? null;
  if (echo) return offered.find((p) => !p.startsWith("bearer.")) ?? firstBearer;
  return offered.every((p) => p.startsWith("bearer.")) ? firstBearer : null;
}

/** Completes the upgrade (ws) once everything allowed it, then tracks and relays. */
function upgradeClient(
  attempt: Attempt,
  decision: Decision,
  chosenProtocol: string | null,
  upstream: GatewaySocket | null,
): void {
  const { ctx, req, socket, head, info } = attempt;
  const limits = attempt.runtime.compiled.document.limits;
  if (socket.destroyed) {
    ctx.connections.unreserve(info.tenant);
    upstream?.terminate();
    return;
  }
  selectedProtocol.set(req, chosenProtocol ?? false);
  let upgraded = false;
  serverFor(limits.maxMessageBytes).handleUpgrade(req, socket, head, (client) => {
    upgraded = true;
    const label = decision.enforced ? "accepted" : "report_only";
    const accepted = record(ctx, info, label, decision.wouldReject ?? "allowed", decision, chosenProtocol);
    const connection = ctx.connections.track(
      client as GatewaySocket,
      upstream,
      limits.idleTimeoutSeconds * 1000,
      accepted,
      {
        facts: attempt.facts!,
        policy: attempt.runtime.compiled,
        tokenValidUntil: decision.tokenValidUntil ?? Number.POSITIVE_INFINITY,
        wouldReject: decision.wouldReject ?? null,
      },
    );
    relay(connection);
  });
  // ws completes an upgrade synchronously, or drops a socket that is no longer writable
  // without calling back: then the slot (and the upstream) must not leak.
  if (!upgraded) {
    ctx.connections.unreserve(info.tenant);
    upstream?.terminate();
  }
}

/** Counts the handshake (metrics) and records its audit event; returns the event. */
function record(
  ctx: GatewayContext,
  info: HandshakeInfo,
  decisionLabel: AuditDecision,
  reason: string,
  decision?: Decision,
  subprotocol: string | null = null,
): AuditEventInput {
  // Attacker-chosen slugs must not create metric series: unknown tenants share one label.
  ctx.metrics.countHandshake(info.known ? info.tenant : "_unknown", decisionLabel, reason);
  const event: AuditEventInput = {
    ts: Date.now(),
    kind: "handshake",
    tenant: info.tenant,
    decision: decisionLabel,
    reason,
    origin: clip(info.origin),
    originNormalized: decision?.normalizedOrigin ?? null,
    remoteAddr: info.remoteAddr,
    userAgent: clip(info.userAgent, 256),
    path: clip(pathOnly(info.rest), 256),
    subprotocol: redactBearer(subprotocol),
    policyVersion: decision?.policyVersion ?? null,
    matchedPattern: decision?.matchedPattern ?? null,
    closeCode: null,
    durationMs: null,
  };
  ctx.audit.record(event);
  return event;
}

/** A `bearer.<jwt>` subprotocol is a credential: audit rows (and the live feed) never hold it. */
function redactBearer(subprotocol: string | null): string | null {
  return subprotocol?.startsWith("bearer.") ? "bearer.[redacted]" : subprotocol;
}
