/**
 * Open client connections: per-tenant counts (for `maxConnections`), the ping/pong
 * heartbeat that terminates dead peers, and draining on shutdown.
 *
 * A slot is reserved when a handshake passes the policy (before a possibly slow upstream
 * connect), so concurrent handshakes cannot overshoot the limit; it is released if the
 * upgrade does not happen, or when the connection closes.
 *
 * Heartbeat (ws README, "How to detect and close broken connections"): a sweep every 250 ms;
 * a connection silent for half its idle timeout is pinged, one silent (no frame, no pong)
 * for the whole idle timeout is terminated.
 */
import type { WebSocket } from "ws";
import type { Metrics } from "../admin/metrics";

export interface TrackedConnection {
  tenant: string;
  ws: WebSocket;
  openedAt: number;
  lastSeenAt: number;
  pingSentAt: number;
  idleTimeoutMs: number;
  /** Called on shutdown before the close frame, e.g. to close the upstream too. */
  onDrain?: () => void;
}

const SWEEP_MS = 250;

export class ConnectionRegistry {
  private readonly counts = new Map<string, number>();
  private readonly open = new Set<TrackedConnection>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly metrics: Metrics) {}

  get size(): number {
    return this.open.size;
  }

  count(tenant: string): number {
    return this.counts.get(tenant) ?? 0;
  }

  /** Reserves a slot if the tenant is under `max`; returns a release function or null. */
  reserve(tenant: string, max: number): (() => void) | null {
    const n = this.count(tenant);
    if (n >= max) return null;
    this.counts.set(tenant, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(tenant) - 1;
      if (left <= 0) this.counts.delete(tenant);
      else this.counts.set(tenant, left);
    };
  }

  /** Starts tracking an upgraded connection; `release` frees its reserved slot on close. */
  track(conn: Omit<TrackedConnection, "lastSeenAt" | "pingSentAt">, release: () => void): TrackedConnection {
    // A plain literal, not `{ ...conn }`: V8 gave every spread copy its own hidden class
    // (~0.35 KiB per connection of maps and out-of-object properties, bench:connections).
    const tracked: TrackedConnection = {
      tenant: conn.tenant,
      ws: conn.ws,
      openedAt: conn.openedAt,
      lastSeenAt: Date.now(),
      pingSentAt: 0,
      idleTimeoutMs: conn.idleTimeoutMs,
      onDrain: conn.onDrain,
    };
    this.open.add(tracked);
    this.metrics.countOpenConnection(tracked.tenant, 1);
    // These listeners live as long as the connection: they reference `tracked` only (not
    // `conn`), and are anonymous because tsx (esbuild keepNames) gives every closure bound to
    // a name its own property array (~0.25 KiB per closure per connection).
    tracked.ws.on("pong", () => {
      tracked.lastSeenAt = Date.now();
    });
    tracked.ws.on("message", () => {
      tracked.lastSeenAt = Date.now();
    });
    tracked.ws.once("close", () => {
      this.open.delete(tracked);
      this.metrics.countOpenConnection(tracked.tenant, -1);
      release();
    });
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    return tracked;
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.open) {
      const silentFor = now - c.lastSeenAt;
      if (silentFor >= c.idleTimeoutMs) {
        c.ws.terminate();
      } else if (silentFor >= c.idleTimeoutMs / 2 && now - c.pingSentAt >= c.idleTimeoutMs / 2) {
        c.pingSentAt = now;
        c.ws.ping();
      }
    }
    if (this.open.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Closes every connection with 1001 and waits (bounded) for them to go. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    const all = [...this.open];
    const closed = all.map((c) => new Promise<void>((resolve) => c.ws.once("close", () => resolve())));
    for (const c of all) {
      c.onDrain?.();
      c.ws.close(1001, "gateway shutting down");
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const c of this.open) c.ws.terminate();
  }
}
