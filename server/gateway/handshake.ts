/**
 * Enforcement of one tenant handshake (`/t/<slug>/<rest>`), before any upgrade.
 *
 * Order of checks (the first failure answers, through refuse() and abortHandshake):
 *   1. the gateway itself: ready and not stopping (503 gateway_unavailable);
 *   2. the client address's budget of unverified handshakes, before anything about the
 *      slug is looked at (429 rate_limited; limits.ts, `UNKNOWN_TENANT_RATE_PER_MIN`);
 *   3. protocol: GET (405), `Upgrade: websocket`, a valid `Sec-WebSocket-Key` (400),
 *      version 13 (426 + `Sec-WebSocket-Version: 13`), a parsable `Sec-WebSocket-Protocol`
 *      (400), and a path that stays under the endpoint (400; upstream-path.ts) — all
 *      `bad_handshake`, each counted against the budget of step 2;
 *   4. tenant known (404 tenant_unknown; counted against the budget of step 2);
 *   5. handshake rate per client address for this tenant (429 rate_limited);
 *   6. the policy decision: origin, credentials, token, subprotocol (server/policy);
 *   7. concurrent connections: the tenant's `maxConnections` and one client address's
 *      share of them, `maxConnectionsPerIp` (503 connection_limit);
 *   8. upstream reachable, when the tenant has one (503 upstream_unavailable) — connected
 *      *before* the client is upgraded, so a client never sees an upgrade that is then closed.
 * In report-only mode step 6 lets the connection through and the audit event says what
 * enforce would have done.
 *
 * Audit: every handshake is exactly one audit event, whatever its exit — a refusal, an
 * upgrade, or a fault. An upgraded connection later adds its close event (connections.ts);
 * a client that went away between the decision and the upgrade gets its accepted event and
 * a close event with 1006, as if it had connected and dropped at once.
 *
 * Fail closed: a fault anywhere (a bug, a limiter or registry that throws, in the
 * synchronous part or after the upstream connect) refuses that client with 503
 * gateway_unavailable, audited once, and gives back what the attempt held — a reserved
 * connection slot, a connected upstream — so nothing leaks; everyone else is served on.
 *
 * Untrusted input: a slug that names no loaded tenant never reaches a metric label
 * (`_unknown`) or a log line, and is clipped in its audit row; the address budget keeps
 * such rows to UNKNOWN_TENANT_RATE_PER_MIN per address and minute, and its own refusals
 * name no tenant (the slug was not looked at), so they fold into one row per window.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { AuditDecision, AuditEventFields, AuditEventInput } from "../audit/types";
import { clip } from "../clip";
import { clientAddress } from "../net/client-address";
import {
  type CompiledPolicy,
  type Decision,
  decideHandshake,
  encodeOfferedSubprotocols,
  type HandshakeRequest,
  presentedTokenState,
  REASON_DESCRIPTIONS,
  REASON_STATUS,
  type Reason,
} from "../policy";
import type { TenantRuntime } from "../policy-store/policy-store";
import { auditOutcome, choosePolicy, type PolicyChoice } from "../policy-store/staged-policy";
import { abortHandshake } from "./abort-handshake";
import { type Connection, closeEvent, type PeerSocket } from "./connections";
import type { GatewayContext } from "./context";
import { RawRelay } from "./frame-relay";
import { acceptValue, connectUpstreamRaw, type RawUpstream } from "./raw-upstream";
import { echo } from "./relay";
import { checkHandshake, type HandshakeProblem, headerLines } from "./request-headers";
import type { HandshakeFacts } from "./revocation";
import { isTesterRequest } from "./tester-mark";
import { accessTokenValues, checkRest, pathOnly, upstreamTarget } from "./upstream-path";

/** The metric label of handshakes that did not name a loaded tenant (never the slug itself). */
const UNKNOWN_TENANT_LABEL = "_unknown";

/**
 * One handshake from its first byte until it is refused or handed to a Connection, and
 * what it holds meanwhile (so that every exit can give it back).
 */
interface Attempt {
  ctx: GatewayContext;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** The slug as requested; `tenant` once it named a loaded tenant. */
  slug: string;
  rest: string;
  remoteAddr: string;
  /** The Origin header's lines, as sent (the decision parses them). */
  originLines: string[] | undefined;
  offeredSubprotocols: string[];
  /** The loaded tenant the slug names (null until step 4 found it). */
  runtime: TenantRuntime | null;
  /** False for a refusal decided before the slug was looked at: its audit row names no tenant. */
  slugLookedAt: boolean;
  /** A connection slot is reserved for this attempt (until a Connection takes it over). */
  reserved: boolean;
  /** The connected upstream, its handshake done (until a Connection takes it over). */
  upstream: RawUpstream | null;
  /** The handshake's audit event was recorded. */
  recorded: boolean;
  /** The upgraded client (set once its 101 is written). */
  client: PeerSocket | null;
  /** The Connection that took over slot and upstream. */
  connection: Connection | null;
  /** What the decision judged: kept with the connection to judge it again (SPEC §4.5). */
  facts: HandshakeFacts | null;
  /** `facts` and the time of the decision, as the policy judged them (set with `facts`). */
  request: HandshakeRequest | null;
  /** The policy that decides this client (the active version, or a canary's staged one). */
  policy: CompiledPolicy | null;
  /** A shadow version's differing decision, recorded on the audit event (SPEC §5.2). */
  shadow: { decision: AuditDecision; reason: string; version: number } | null;
}

export function handleTenantUpgrade(
  ctx: GatewayContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  slug: string,
  rest: string,
): void {
  const attempt: Attempt = {
    ctx,
    req,
    socket,
    head,
    slug,
    rest,
    remoteAddr: req.socket.remoteAddress ?? "unknown",
    originLines: undefined,
    offeredSubprotocols: [],
    runtime: null,
    slugLookedAt: true,
    reserved: false,
    upstream: null,
    recorded: false,
    client: null,
    connection: null,
    facts: null,
    request: null,
    policy: null,
    shadow: null,
  };
  try {
    attempt.remoteAddr = clientAddress(req.socket.remoteAddress, headerLines(req, "x-forwarded-for"), ctx.trustProxy);
    attempt.originLines = headerLines(req, "origin");
    const pending = admit(attempt);
    pending?.catch((error: unknown) => failClosed(attempt, error));
  } catch (error) {
    failClosed(attempt, error);
  }
}

/** Steps 1–7, synchronously; the upstream connect (step 8) is the only asynchronous part. */
function admit(a: Attempt): Promise<void> | undefined {
  const { ctx, req } = a;

  // 1. The gateway itself.
  if (ctx.stopping) return refuse(a, "gateway_unavailable", "the gateway is shutting down");
  if (!ctx.store.ready) return refuse(a, "gateway_unavailable", "policies are not loaded yet");

  // 2. The address's budget of handshakes that named no tenant (or were malformed).
  if (!ctx.rateLimits.addressAllowed(a.remoteAddr)) {
    a.slugLookedAt = false;
    return refuse(a, "rate_limited", "too many handshakes to unknown tenants from this address", {
      headers: { "Retry-After": String(ctx.rateLimits.retryAfterSeconds(null)) },
    });
  }

  // 3. Protocol.
  const problem = protocolProblem(a);
  if (problem) {
    ctx.rateLimits.countUnverified(a.remoteAddr);
    return refuse(a, "bad_handshake", problem.message, problem);
  }

  // 4. Tenant.
  const runtime = ctx.store.get(a.slug);
  if (!runtime) {
    ctx.rateLimits.countUnverified(a.remoteAddr);
    return refuse(a, "tenant_unknown", "unknown tenant");
  }
  a.runtime = runtime;
  // A staged version (shadow/canary) is looked at only when the tenant has one.
  const choice = runtime.staged === null ? null : choosePolicy(runtime.active, runtime.staged, a.remoteAddr);
  const policy = choice === null ? runtime.compiled : choice.enforced;
  a.policy = policy;
  const limits = policy.document.limits;

  // 5. The tenant's handshake rate per address.
  if (!ctx.rateLimits.allowTenant(runtime.slug, a.remoteAddr, limits.handshakesPerMinutePerIp)) {
    return refuse(a, "rate_limited", "too many handshakes from this address", {
      headers: { "Retry-After": String(ctx.rateLimits.retryAfterSeconds(runtime.slug)) },
    });
  }

  // 6. The policy.
  a.facts = {
    origin: a.originLines,
    hasCookie: Boolean(req.headers.cookie),
    hasAuthorization: Boolean(req.headers.authorization),
    offeredSubprotocols: a.offeredSubprotocols,
    accessTokenParam: accessTokenValues(a.rest),
  };
  const request: HandshakeRequest = { ...a.facts, now: Date.now() };
  a.request = request;
  const decision = decideHandshake(policy, request);
  if (choice !== null) compareStaged(a, choice, decision, request);
  if (!decision.allowed) {
    const headers: Record<string, string> | undefined =
      decision.status === 401 ? { "WWW-Authenticate": `Bearer realm="origingate", error="invalid_token"` } : undefined;
    return refuse(a, decision.reason, REASON_DESCRIPTIONS[decision.reason], { headers, decision });
  }

  // 7. Concurrent connections: the tenant's, and this address's share of them.
  const reserved = ctx.connections.reserve(runtime.slug, a.remoteAddr, limits);
  if (reserved !== "reserved") {
    const message =
      reserved === "tenant_full"
        ? "the tenant has reached its connection limit"
        : "this client address holds its share of the tenant's connections (maxConnectionsPerIp)";
    return refuse(a, "connection_limit", message, { decision: refusal(decision, "connection_limit") });
  }
  a.reserved = true;

  // 8. Upstream first, then the client.
  if (!runtime.upstreamUrl) {
    upgradeClient(a, decision, answerSubprotocol(a.offeredSubprotocols, decision.selectedSubprotocol, true));
    return undefined;
  }
  return connectThenUpgrade(a, runtime, decision);
}

/**
 * Shadow: decide with the staged version too and keep its outcome where it differs.
 * Guard: a handshake the staged version refuses and the active one admits counts towards
 * the rollout's guard (in shadow, and for a guarded canary's clients).
 */
function compareStaged(a: Attempt, choice: PolicyChoice, decision: Decision, request: HandshakeRequest): void {
  const staged = choice.staged;
  if (staged === null) return;
  if (choice.shadow !== null) {
    const shadow = decideHandshake(choice.shadow, request);
    const mine = auditOutcome(decision);
    const theirs = auditOutcome(shadow);
    if (mine.decision !== theirs.decision || mine.reason !== theirs.reason) {
      a.shadow = { ...theirs, version: staged.version };
    }
    if (!shadow.allowed && decision.allowed) a.ctx.guard.newRefusal(a.runtime!.slug, staged, request.now);
  } else if (choice.guardBaseline !== null && !decision.allowed) {
    if (decideHandshake(choice.guardBaseline, request).allowed)
      a.ctx.guard.newRefusal(a.runtime!.slug, staged, request.now);
  }
}

/** Step 3: what is wrong with the request as a WebSocket handshake to this endpoint, or null. */
function protocolProblem(a: Attempt): HandshakeProblem | null {
  const checked = checkHandshake(a.req, { method: a.req.method, subrequest: false });
  if (!checked.ok) return checked.problem;
  a.offeredSubprotocols = checked.offered;
  const path = checkRest(a.rest);
  if (!path.ok) return { message: path.message };
  return null;
}

/** Step 8 for a tenant with an upstream: connect it, then upgrade the client. */
async function connectThenUpgrade(a: Attempt, runtime: TenantRuntime, decision: Decision): Promise<void> {
  const upstreamUrl = runtime.upstreamUrl!;
  const target = upstreamTarget(upstreamUrl, a.rest);
  if (!target.ok) return refuse(a, "bad_handshake", target.message);
  // Offered subprotocols the policy allows (all, when it lists none); never the token.
  const policy = a.policy ?? runtime.compiled;
  const { requireSubprotocol, subprotocolSet } = policy.settings;
  const forwarded = a.offeredSubprotocols.filter(
    (p) => !p.startsWith("bearer.") && (!requireSubprotocol || subprotocolSet.has(p)),
  );
  try {
    a.upstream = await connectUpstreamRaw(target.url, forwarded, {
      key: clientKey(a.req),
      forwardedFor: a.remoteAddr,
      tenant: runtime.slug,
    });
  } catch (error) {
    a.ctx.logger.warn({ tenant: runtime.slug, err: (error as Error).message }, "upstream unavailable");
    return refuse(a, "upstream_unavailable", "the upstream service is unavailable", {
      decision: refusal(decision, "upstream_unavailable"),
    });
  }
  upgradeClient(a, decision, answerSubprotocol(a.offeredSubprotocols, a.upstream.protocol || null, false));
}

/** The decision, turned into a refusal by a later step (the audit row keeps its pattern and version). */
function refusal(decision: Decision, reason: Reason): Decision {
  return { ...decision, allowed: false, reason, status: REASON_STATUS[reason] };
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

/** The client's Sec-WebSocket-Key (checked in step 3). */
function clientKey(req: IncomingMessage): string {
  return String(req.headers["sec-websocket-key"]).trim();
}

/**
 * Completes the upgrade once everything allowed it; the Connection takes over slot and
 * upstream. Echo: ws upgrades the client. Proxy: the gateway writes the 101 itself (the
 * upstream already accepted the same key and subprotocol) and the raw relay moves the
 * bytes (frame-relay.ts).
 */
function upgradeClient(a: Attempt, decision: Decision, protocol: string | null): void {
  const { ctx, runtime } = a;
  const policy = a.policy ?? runtime!.compiled;
  const limits = policy.document.limits;
  if (a.socket.destroyed) return abandoned(a, decision, protocol);
  if (a.upstream) {
    if (!a.socket.readable || !a.socket.writable) return abandoned(a, decision, protocol);
    const upstream = a.upstream;
    const lines = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${acceptValue(clientKey(a.req))}`,
    ];
    if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    const socket = a.socket as Duplex & { setNoDelay?: (on: boolean) => void; setTimeout?: (ms: number) => void };
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    const raw = new RawRelay(a.socket, upstream.socket, limits.maxMessageBytes, a.head, upstream.head, upstream.read);
    try {
      upgraded(a, decision, protocol, raw.clientPeer, raw.upstreamPeer);
    } finally {
      // Even after a fault (failClosed terminates the client): the relay's socket events
      // are what tells the registry that the connection closed.
      raw.start();
    }
    return;
  }
  ctx.upgrades.upgrade(a.req, a.socket, a.head, limits.maxMessageBytes, protocol, (client) => {
    upgraded(a, decision, protocol, client, null);
    echo(a.connection!);
  });
  // ws completes an upgrade synchronously, or drops a socket that is no longer writable
  // without calling back: then the slot (and the upstream) must not leak.
  if (!a.client) abandoned(a, decision, protocol);
}

/** The client is upgraded: its accepted event, and a tracked Connection holding slot and upstream. */
function upgraded(
  a: Attempt,
  decision: Decision,
  protocol: string | null,
  client: PeerSocket,
  upstream: PeerSocket | null,
): void {
  const { ctx, runtime } = a;
  // A canary gateway enforces the staged version (a.policy); the connection follows it.
  const policy = a.policy ?? runtime!.compiled;
  const limits = policy.document.limits;
  a.client = client;
  const accepted = auditEvent(
    a,
    decision.enforced ? "accepted" : "report_only",
    decision.wouldReject ?? "allowed",
    decision,
    protocol,
  );
  a.connection = ctx.connections.track(client, upstream, limits.idleTimeoutSeconds * 1000, accepted, {
    facts: a.facts!,
    policy,
    tokenValidUntil: decision.tokenValidUntil ?? Number.POSITIVE_INFINITY,
    wouldReject: decision.wouldReject ?? null,
  });
  a.reserved = false;
  a.upstream = null;
  record(a, accepted);
}

/**
 * The client went away between the decision and the upgrade: the decision is recorded as
 * made, with a close event (1006, no close frame) right after it, and what was held is
 * given back.
 */
function abandoned(a: Attempt, decision: Decision, protocol: string | null): void {
  const now = Date.now();
  const accepted = auditEvent(
    a,
    decision.enforced ? "accepted" : "report_only",
    decision.wouldReject ?? "allowed",
    decision,
    protocol,
  );
  record(a, accepted);
  a.ctx.audit.record(closeEvent(accepted, 1006, now, now));
  release(a);
  a.socket.destroy();
}

/** Refuses the handshake before any upgrade: its audit event (once), what it held given back, one HTTP answer. */
function refuse(
  a: Attempt,
  reason: Reason,
  message: string,
  options: { status?: number; headers?: Record<string, string>; decision?: Decision } = {},
): undefined {
  if (!a.recorded) record(a, auditEvent(a, "rejected", reason, options.decision));
  release(a);
  abortHandshake(
    a.socket,
    options.status ?? options.decision?.status ?? REASON_STATUS[reason],
    reason,
    message,
    options.headers,
  );
  return undefined;
}

/** A fault somewhere in the attempt: refuse that client (or close it, once upgraded) and give everything back. */
function failClosed(a: Attempt, error: unknown): void {
  try {
    a.ctx.logger.error(
      { err: error instanceof Error ? error.message : String(error), tenant: a.runtime?.slug },
      "handshake failed; refusing (fail closed)",
    );
    if (a.connection) {
      // Tracked: its close (connections.ts) gives back the slot and records the close event.
      a.connection.client.terminate();
      return;
    }
    if (!a.recorded) record(a, auditEvent(a, "rejected", "gateway_unavailable"));
    release(a);
    if (a.client) a.client.terminate();
    else abortHandshake(a.socket, REASON_STATUS.gateway_unavailable, "gateway_unavailable", "internal error");
  } catch {
    a.socket.destroy(); // last resort: never leave the client hanging, never throw from here
  }
}

/** Gives back what the attempt holds and no Connection took over. */
function release(a: Attempt): void {
  if (a.reserved) {
    a.reserved = false;
    a.ctx.connections.unreserve(a.runtime!.slug, a.remoteAddr);
  }
  if (a.upstream) {
    a.upstream.terminate();
    a.upstream = null;
  }
}

/**
 * The handshake's audit event (not yet recorded): every field present, in the order of
 * connections.ts closeEvent() (one hidden class for the events of every connection).
 */
function auditEvent(
  a: Attempt,
  decisionLabel: AuditDecision,
  reason: string,
  decision?: Decision,
  subprotocol: string | null = null,
): HandshakeEvent {
  const shadow = a.shadow;
  // What an impact preview replays (SPEC §5.2), once the policy judged the handshake (step 6
  // on): never the token or a cookie, only that they came and the token's state.
  const facts = a.runtime ? a.request : null;
  return {
    ts: Date.now(),
    kind: "handshake",
    via: isTesterRequest(a.req) ? "tester" : undefined,
    tenant: a.runtime ? a.runtime.slug : a.slugLookedAt ? a.slug : null,
    decision: decisionLabel,
    reason,
    origin: clip(a.originLines?.join(", ")),
    originNormalized: decision?.normalizedOrigin ?? null,
    remoteAddr: a.remoteAddr,
    userAgent: clip(a.req.headers["user-agent"], 256),
    path: clip(pathOnly(a.rest), 256),
    subprotocol: redactBearer(subprotocol),
    policyVersion: decision?.policyVersion ?? null,
    matchedPattern: decision?.matchedPattern ?? null,
    count: undefined,
    closeCode: null,
    durationMs: null,
    details: undefined,
    shadowDecision: shadow === null ? undefined : shadow.decision,
    shadowReason: shadow === null ? undefined : shadow.reason,
    shadowVersion: shadow === null ? undefined : shadow.version,
    credentials: facts === null ? undefined : facts.hasCookie || facts.hasAuthorization,
    tokenState: facts === null ? undefined : tokenState(a, facts, decision),
    offeredSubprotocols: facts === null ? undefined : encodeOfferedSubprotocols(facts.offeredSubprotocols),
  };
}

/**
 * The presented token's state for the impact preview, as of the decision: verified here only
 * when the decision did not already admit it (`token: off`, or a refusal before or at the
 * token check).
 */
function tokenState(
  a: Attempt,
  request: HandshakeRequest,
  decision: Decision | undefined,
): AuditEventInput["tokenState"] {
  return decision?.tokenValidUntil !== undefined
    ? "valid"
    : presentedTokenState(a.policy ?? a.runtime!.compiled, request);
}

/** A handshake's audit event always has a decision and a reason (only `dropped` rows lack them). */
type HandshakeEvent = AuditEventFields & { decision: AuditDecision; reason: string };

/** Counts the handshake (metrics) and records its audit event, once per attempt. */
function record(a: Attempt, event: HandshakeEvent): void {
  a.recorded = true;
  // Attacker-chosen slugs must not create metric series: unknown tenants share one label.
  a.ctx.metrics.countHandshake(a.runtime?.slug ?? UNKNOWN_TENANT_LABEL, event.decision, event.reason);
  a.ctx.audit.record(event);
}

/** A `bearer.<jwt>` subprotocol is a credential: audit rows (and the live feed) never hold it. */
function redactBearer(subprotocol: string | null): string | null {
  return subprotocol?.startsWith("bearer.") ? "bearer.[redacted]" : subprotocol;
}
