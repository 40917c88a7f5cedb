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
 * for the whole idle timeout is terminated.
 *
 * Memory: everything the gateway keeps per connection is one `Connection` object, reached
 * from its sockets through `GatewaySocket.connection`; the listeners are module-level
 * functions that find it through `this` (the socket that emitted). A closure per listener
 * would keep a scope object per connection alive, and bench:connections counts the gateway's
 * heap per connection against a bare `ws` server.
 */
import { WebSocket } from "ws";
import type { Metrics } from "../admin/metrics";
import type { AuditEventInput, AuditSink } from "../audit/types";
import type { Logger } from "../log";

/**
 * The WebSocket class of every client and upstream socket of the gateway (ws lets a server
 * use a subclass: `new WebSocketServer({ WebSocket: GatewaySocket })`), with an in-object
 * slot pointing at the connection it belongs to.
 */
export class GatewaySocket extends WebSocket {
  connection: Connection | null = null;
}

/** The connection a socket of the gateway belongs to (`this` in a module-level listener). */
export function connectionOf(socket: WebSocket): Connection | null {
  return (socket as GatewaySocket).connection ?? null;
}

/** One accepted client connection (and its upstream, when the tenant has one). */
export class Connection {
  lastSeenAt: number;
  pingSentAt = 0;
  /** Bytes handed to ws but not yet written, toward the client and toward the upstream. */
  pendingToClient = 0;
  pendingToUpstream = 0;
  clientPaused = false;
  upstreamPaused = false;

  constructor(
    readonly registry: ConnectionRegistry,
    readonly client: GatewaySocket,
    readonly upstream: GatewaySocket | null,
    readonly openedAt: number,
    readonly idleTimeoutMs: number,
    /** The accepted handshake's audit event: the close event repeats its fields. */
    readonly accepted: AuditEventInput,
  ) {
    this.lastSeenAt = openedAt;
  }

  get tenant(): string {
    return this.accepted.tenant ?? "";
  }
}

const SWEEP_MS = 250;

export class ConnectionRegistry {
  /** Reserved slots per tenant: open connections plus upgrades in progress. */
  private readonly slots = new Map<string, number>();
  /** Reserved slots per (tenant, client address); an entry is deleted when it reaches zero. */
  private readonly slotsByAddress = new Map<string, number>();
  private readonly open = new Set<Connection>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly audit: AuditSink,
    readonly logger: Logger,
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
    client: GatewaySocket,
    upstream: GatewaySocket | null,
    idleTimeoutMs: number,
    accepted: AuditEventInput,
  ): Connection {
    const connection = new Connection(this, client, upstream, Date.now(), idleTimeoutMs, accepted);
    client.connection = connection;
    if (upstream) upstream.connection = connection;
    this.open.add(connection);
    this.metrics.countOpenConnection(connection.tenant, 1);
    client.on("pong", onClientPong);
    client.once("close", onClientClose);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    return connection;
  }

  /** The client closed: bookkeeping, slot, metrics and the close audit event. */
  closed(connection: Connection, code: number): void {
    if (!this.open.delete(connection)) return;
    this.unreserve(connection.tenant, connection.accepted.remoteAddr ?? "");
    this.metrics.countOpenConnection(connection.tenant, -1);
    this.audit.record(closeEvent(connection.accepted, code, connection.openedAt, Date.now()));
  }

  private sweep(): void {
    const now = Date.now();
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
export function closeEvent(accepted: AuditEventInput, code: number, openedAt: number, now: number): AuditEventInput {
  return { ...accepted, ts: now, kind: "close", reason: "allowed", closeCode: code, durationMs: now - openedAt };
}

function onClientPong(this: WebSocket): void {
  const connection = connectionOf(this);
  if (connection) connection.lastSeenAt = Date.now();
}

function onClientClose(this: WebSocket, code: number): void {
  const connection = connectionOf(this);
  if (connection) connection.registry.closed(connection, code);
}
