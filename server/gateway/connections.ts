/**
 * Open client connections: per-tenant counts (for `maxConnections`), the ping/pong
 * heartbeat that terminates dead peers, the close audit event, and draining on shutdown.
 *
 * A slot is reserved when a handshake passes the policy (before a possibly slow upstream
 * connect), so concurrent handshakes cannot overshoot the limit; it is given back with
 * unreserve() if the upgrade does not happen, or when the connection closes. A slot counts
 * against the tenant (`limits.maxConnections`) and against the client address's share of
 * it (`limits.maxConnectionsPerIp`, SPEC §5), so one address cannot hold every slot. The
 * per-address counters exist only while an address holds slots (deleted at zero), so
 * there are never more of them than reserved slots.
 *
 * Heartbeat (ws README, "How to detect and close broken connections"): a sweep every 250 ms;
 * a connection silent for half its idle timeout is pinged, one silent (no frame, no pong)
 * for the whole idle timeout is terminated. The same sweep closes connections whose token
 * expired (a shared tick instead of a timer per connection).
 *
 * Open connections follow the policy (SPEC §4.5, verdicts in revocation.ts): `reevaluate`
 * re-judges a tenant's connections when its enforced policy changes, and `track` re-judges
 * a connection that was decided under a policy replaced while it was being upgraded. A
 * connection the gateway closes (1008 policy_revoked / token_expired, both sides in proxy
 * mode, through the socket's close(): a close frame after the frames already queued — at a
 * frame boundary in the raw relay, frame-relay.ts) gets one audit event of kind `revoked`,
 * which is its close record.
 *
 * Memory: everything the gateway keeps per connection is one `Connection` object, reached
 * from its sockets through their `connection` slot; the listeners are module-level
 * functions that find it through `this` (the socket that emitted). A closure per listener
 * would keep a scope object per connection alive, and bench:connections counts the gateway's
 * heap per connection against a bare `ws` server.
 */
import { WebSocket } from "ws";
import type { Metrics } from "../admin/metrics";
import type { AuditEventFields, AuditEventInput, AuditSink } from "../audit/types";
import type { Logger } from "../log";
import type { CompiledPolicy } from "../policy";
import { type HandshakeFacts, judgeOpenConnection, type Verdict } from "./revocation";

/**
 * The WebSocket class of every client and upstream socket of the gateway (ws lets a server
 * use a subclass: `new WebSocketServer({ WebSocket: GatewaySocket })`), with an in-object
 * slot pointing at the connection it belongs to.
 */
export class GatewaySocket extends WebSocket {
  connection: Connection | null = null;
}

/**
 * What the registry needs of a connection's sockets: a `ws` WebSocket (the echo target)
 * or a peer of the raw relay (proxy mode, frame-relay.ts). The client's `close` event
 * carries the close code its audit event records.
 */
export interface PeerSocket {
  connection: Connection | null;
  readonly readyState: number;
  close(code?: number, reason?: string | Buffer): void;
  terminate(): void;
  ping(): void;
  // biome-ignore lint/suspicious/noExplicitAny: event listeners of ws and EventEmitter alike.
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: event listeners of ws and EventEmitter alike.
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/** The connection a socket of the gateway belongs to (`this` in a module-level listener). */
export function connectionOf(socket: object): Connection | null {
  return (socket as { connection?: Connection | null }).connection ?? null;
}

/** What a connection was admitted on, kept to judge it again (SPEC §4.5). */
export interface Admission {
  /** The handshake's facts as the engine judged them. */
  facts: HandshakeFacts;
  /** The compiled policy that admitted it. */
  policy: CompiledPolicy;
  /** Epoch ms at which the admitting token expires; Infinity when no token admitted it. */
  tokenValidUntil: number;
  /** Report-only: what enforce would have refused it with (its handshake event says so). */
  wouldReject: string | null;
}

/** One accepted client connection (and its upstream, when the tenant has one). */
export class Connection {
  lastSeenAt: number;
  pingSentAt = 0;
  /** Echo: bytes handed to ws but not yet written back to the client (relay.ts). */
  pendingToClient = 0;
  clientPaused = false;
  /**
   * The handshake's facts, kept only when they cannot be rebuilt from `accepted` (see
   * factsOf): most connections carry no Cookie, Authorization, subprotocol or token, and
   * their Origin is the one in the audit event — then null, and nothing more is kept.
   */
  readonly facts: HandshakeFacts | null;
  /**
   * What the gateway last said about it: null (nothing), a refusal reported in report-only
   * (one event per cause, not per change), or REVOKED once it closed it (its `revoked`
   * event is then its close record). One field for both: bench:connections counts bytes.
   */
  verdict: string | null;

  constructor(
    readonly registry: ConnectionRegistry,
    readonly client: PeerSocket,
    readonly upstream: PeerSocket | null,
    readonly openedAt: number,
    readonly idleTimeoutMs: number,
    /** The accepted handshake's audit event: the close event repeats its fields. */
    readonly accepted: AuditEventInput,
    admission: Admission,
  ) {
    this.lastSeenAt = openedAt;
    this.facts = derivable(admission.facts, accepted) ? null : admission.facts;
    this.verdict = admission.wouldReject;
  }

  get tenant(): string {
    return this.accepted.tenant ?? "";
  }

  get revoked(): boolean {
    return this.verdict === REVOKED;
  }
}

/** `Connection.verdict` of a connection the gateway closed for the policy or its token. */
const REVOKED = "\u0000revoked";
const NO_SUBPROTOCOLS: readonly string[] = Object.freeze([]);

/** True when `facts` are exactly what factsOf rebuilds from the accepted event alone. */
function derivable(facts: HandshakeFacts, accepted: AuditEventInput): boolean {
  if (facts.hasCookie || facts.hasAuthorization) return false;
  if (facts.offeredSubprotocols.length > 0 || facts.accessTokenParam != null) return false;
  const origin = facts.origin;
  if (origin === undefined) return accepted.origin === null;
  const single = typeof origin === "string" ? origin : origin.length === 1 ? origin[0] : undefined;
  return single !== undefined && single === accepted.origin;
}

/** The facts a connection's handshake was judged on (SPEC §4.5). */
function factsOf(c: Connection): HandshakeFacts {
  return (
    c.facts ?? {
      origin: c.accepted.origin ?? undefined,
      hasCookie: false,
      hasAuthorization: false,
      offeredSubprotocols: NO_SUBPROTOCOLS,
      accessTokenParam: null,
    }
  );
}

const SWEEP_MS = 250;
/** Connections judged per event-loop turn when a big tenant's policy changes. */
const REEVALUATE_CHUNK = 1000;
/** RFC 6455 7.4.1: a policy violation. */
const POLICY_VIOLATION = 1008;

export class ConnectionRegistry {
  /** Reserved slots per tenant: open connections plus upgrades in progress. */
  private readonly slots = new Map<string, number>();
  /** Reserved slots per (tenant, client address); an entry is deleted when it reaches zero. */
  private readonly slotsByAddress = new Map<string, number>();
  private readonly open = new Set<Connection>();
  /** Connections admitted with a token, and when that token expires (epoch ms). */
  private readonly tokenExpiry = new Map<Connection, number>();
  /** Per tenant, the pass of re-evaluation in progress (a newer change supersedes it). */
  private readonly passes = new Map<string, object>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly audit: AuditSink,
    readonly logger: Logger,
    /** The compiled policy enforced now for a tenant's client address (null: none; staged versions pick per address). */
    private readonly currentPolicy: (tenant: string, remoteAddr: string) => CompiledPolicy | null = () => null,
  ) {}

  get size(): number {
    return this.open.size;
  }

  count(tenant: string): number {
    return this.slots.get(tenant) ?? 0;
  }

  /** Per-address counters held now (at most one per reserved slot). */
  get addressCounters(): number {
    return this.slotsByAddress.size;
  }

  /**
   * Reserves a slot for `address` if the tenant is under `limits.maxConnections` and the
   * address under `limits.maxConnectionsPerIp`; otherwise reserves nothing and says which
   * limit is reached.
   */
  reserve(
    tenant: string,
    address: string,
    limits: { maxConnections: number; maxConnectionsPerIp: number },
  ): "reserved" | "tenant_full" | "address_full" {
    const n = this.count(tenant);
    if (n >= limits.maxConnections) return "tenant_full";
    const key = addressKey(tenant, address);
    const held = this.slotsByAddress.get(key) ?? 0;
    if (held >= limits.maxConnectionsPerIp) return "address_full";
    this.slots.set(tenant, n + 1);
    this.slotsByAddress.set(key, held + 1);
    return "reserved";
  }

  /** Gives back a slot reserved for an upgrade that did not happen (or a closed connection). */
  unreserve(tenant: string, address: string): void {
    const left = this.count(tenant) - 1;
    if (left <= 0) this.slots.delete(tenant);
    else this.slots.set(tenant, left);
    const key = addressKey(tenant, address);
    const held = (this.slotsByAddress.get(key) ?? 0) - 1;
    if (held <= 0) this.slotsByAddress.delete(key);
    else this.slotsByAddress.set(key, held);
  }

  /** Starts tracking an upgraded client (its slot already reserved); the relay comes next. */
  track(
    client: PeerSocket,
    upstream: PeerSocket | null,
    idleTimeoutMs: number,
    accepted: AuditEventInput,
    admission: Admission,
  ): Connection {
    const connection = new Connection(this, client, upstream, Date.now(), idleTimeoutMs, accepted, admission);
    client.connection = connection;
    if (upstream) upstream.connection = connection;
    this.open.add(connection);
    const tenant = connection.tenant;
    if (Number.isFinite(admission.tokenValidUntil)) this.tokenExpiry.set(connection, admission.tokenValidUntil);
    this.metrics.countOpenConnection(tenant, 1);
    client.on("pong", onClientPong);
    client.once("close", onClientClose);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    // Decided under a policy that was replaced while the upgrade (or upstream connect) ran:
    // the re-evaluation of that change did not see this connection yet.
    const current = this.currentPolicy(tenant, accepted.remoteAddr ?? "");
    if (current !== admission.policy) this.judge(connection, current, Date.now());
    return connection;
  }

  /** The client closed: bookkeeping, slot, metrics and the close audit event. */
  closed(connection: Connection, code: number): void {
    if (!this.open.delete(connection)) return;
    this.tokenExpiry.delete(connection);
    this.unreserve(connection.tenant, connection.accepted.remoteAddr ?? "");
    this.metrics.countOpenConnection(connection.tenant, -1);
    // A connection the gateway revoked was recorded then (kind `revoked`, code 1008).
    if (connection.revoked) return;
    this.audit.record(closeEvent(connection.accepted, code, connection.openedAt, Date.now()));
  }

  /** Open connections of `tenant` (tests, diagnostics). */
  openCount(tenant: string): number {
    return this.openOf(tenant).length;
  }

  /** The open connections of `tenant` (tests, diagnostics). */
  openOf(tenant: string): Connection[] {
    const out: Connection[] = [];
    for (const c of this.open) if (c.tenant === tenant) out.push(c);
    return out;
  }

  /**
   * The policy enforced for `tenant` changed (null: the tenant is gone): judges its open
   * connections again, REEVALUATE_CHUNK open connections per event-loop turn; a newer
   * change of the tenant restarts the pass.
   *
   * It walks every open connection, not an index per tenant: an index costs bytes on each
   * connection (bench:connections), a walk costs well under a millisecond per 10,000
   * connections once per policy change. The Set's live iterator also visits connections
   * opened during the pass.
   */
  reevaluate(tenant: string, policy: CompiledPolicy | null | ((remoteAddr: string) => CompiledPolicy | null)): void {
    if (this.open.size === 0 || this.count(tenant) === 0) return;
    // A canary by percent enforces one of two versions per client address.
    const policyFor = typeof policy === "function" ? policy : () => policy;
    const pass = {};
    this.passes.set(tenant, pass);
    const walk = this.open.values();
    const step = () => {
      if (this.passes.get(tenant) !== pass) return;
      const now = Date.now();
      for (let i = 0; i < REEVALUATE_CHUNK; i++) {
        const next = walk.next();
        if (next.done) {
          this.passes.delete(tenant);
          return;
        }
        if (next.value.tenant === tenant) this.judge(next.value, policyFor(next.value.accepted.remoteAddr ?? ""), now);
      }
      setImmediate(step);
    };
    step();
  }

  /** Applies the verdict on one open connection under `policy`. */
  private judge(c: Connection, policy: CompiledPolicy | null, now: number): void {
    if (c.revoked || !this.open.has(c)) return;
    let verdict: Verdict;
    try {
      verdict = judgeOpenConnection(factsOf(c), this.tokenExpiry.get(c) ?? Number.POSITIVE_INFINITY, policy, now);
    } catch (error) {
      // Fail closed: a connection that cannot be judged is not kept on trust.
      this.logger.error({ err: (error as Error).message, tenant: c.tenant }, "re-evaluation failed; closing");
      verdict = { action: "close", reason: "policy_revoked", cause: null, policyVersion: policy?.version ?? null };
    }
    if (verdict.action === "keep") {
      c.verdict = null;
    } else if (verdict.action === "report") {
      if (c.verdict === verdict.cause) return;
      c.verdict = verdict.cause;
      this.recordRevocation(
        c,
        now,
        "report_only",
        verdict.cause === "token_expired" ? "token_expired" : "policy_revoked",
        {
          cause: verdict.cause,
          policyVersion: verdict.policyVersion,
          wouldClose: true,
        },
      );
    } else {
      this.revoke(c, now, verdict.reason, { cause: verdict.cause, policyVersion: verdict.policyVersion });
    }
  }

  /** Closes `c` for the policy (1008 with the reason code), both sides, with its audit event. */
  private revoke(
    c: Connection,
    now: number,
    reason: "policy_revoked" | "token_expired",
    details: { cause: string | null; policyVersion: number | null },
  ): void {
    if (c.revoked) return;
    c.verdict = REVOKED;
    this.recordRevocation(c, now, "rejected", reason, details);
    this.metrics.countRevocation(c.tenant, reason);
    const upstream = c.upstream;
    if (upstream?.readyState === WebSocket.OPEN) upstream.close(POLICY_VIOLATION, reason);
    else if (upstream?.readyState === WebSocket.CONNECTING) upstream.terminate();
    if (c.client.readyState === WebSocket.OPEN) c.client.close(POLICY_VIOLATION, reason);
  }

  private recordRevocation(
    c: Connection,
    now: number,
    decision: "rejected" | "report_only",
    reason: "policy_revoked" | "token_expired",
    details: { cause: string | null; policyVersion: number | null; wouldClose?: boolean },
  ): void {
    this.audit.record({
      ...c.accepted,
      ts: now,
      kind: "revoked",
      shadowDecision: null,
      shadowReason: null,
      shadowVersion: null,
      decision,
      reason,
      policyVersion: details.policyVersion,
      matchedPattern: null,
      closeCode: decision === "rejected" ? POLICY_VIOLATION : null,
      durationMs: now - c.openedAt,
      details: {
        cause: details.cause,
        admittedVersion: c.accepted.policyVersion,
        ...(details.wouldClose ? { wouldClose: true } : {}),
      },
    });
  }

  private sweep(): void {
    const now = Date.now();
    // Tokens first (a shared tick, no timer per connection): judged again once expired.
    for (const [c, validUntil] of this.tokenExpiry) {
      if (now >= validUntil && !c.revoked)
        this.judge(c, this.currentPolicy(c.tenant, c.accepted.remoteAddr ?? ""), now);
    }
    for (const c of this.open) {
      const silentFor = now - c.lastSeenAt;
      if (silentFor >= c.idleTimeoutMs) {
        c.client.terminate();
      } else if (silentFor >= c.idleTimeoutMs / 2 && now - c.pingSentAt >= c.idleTimeoutMs / 2) {
        c.pingSentAt = now;
        c.client.ping();
      }
    }
    if (this.open.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Closes every connection (and its upstream) with 1001 and waits (bounded) for them to go. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    const all = [...this.open];
    const closed = all.map((c) => new Promise<void>((resolve) => c.client.once("close", () => resolve())));
    for (const c of all) {
      c.upstream?.close(1001, "gateway shutting down");
      c.client.close(1001, "gateway shutting down");
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const c of this.open) c.client.terminate();
  }
}

function addressKey(tenant: string, address: string): string {
  return `${tenant}\u0000${address}`;
}

/** The audit event of a connection's close: the accepted handshake's fields, the code and duration. */
export function closeEvent(accepted: AuditEventInput, code: number, openedAt: number, now: number): AuditEventFields {
  // Every field written out, in the order of handshake.ts auditEvent() (one hidden class for
  // both events of a connection; AuditEventFields makes a new field a compile error here).
  // A shadow decision belongs to the handshake's own row, not to what followed it.
  return {
    ts: now,
    kind: "close",
    via: accepted.via,
    tenant: accepted.tenant,
    decision: accepted.decision,
    reason: "allowed",
    origin: accepted.origin,
    originNormalized: accepted.originNormalized,
    remoteAddr: accepted.remoteAddr,
    userAgent: accepted.userAgent,
    path: accepted.path,
    subprotocol: accepted.subprotocol,
    policyVersion: accepted.policyVersion,
    matchedPattern: accepted.matchedPattern,
    count: accepted.count,
    closeCode: code,
    durationMs: now - openedAt,
    details: accepted.details,
    shadowDecision: null,
    shadowReason: null,
    shadowVersion: null,
    credentials: accepted.credentials,
    tokenState: accepted.tokenState,
    offeredSubprotocols: accepted.offeredSubprotocols,
  };
}

function onClientPong(this: PeerSocket): void {
  const connection = connectionOf(this);
  if (connection) connection.lastSeenAt = Date.now();
}

function onClientClose(this: PeerSocket, code: number): void {
  const connection = connectionOf(this);
  if (connection) connection.registry.closed(connection, code);
}
