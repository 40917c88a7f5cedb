/**
 * LISTEN on a dedicated Postgres connection, used only as a wake-up signal, and shared by
 * every owner in the process (policy store, audit tail): one connection per gateway, not
 * one per owner (issue 15: the fleet per Postgres is capped by connections).
 *
 * Modelled on centrifugo's internal/pgoutbox/listener.go: a notification means "go re-read",
 * never "here is the data"; each owner coalesces wake-ups and has a polling fallback
 * (reconciliation), so a lost notification costs latency, not correctness.
 *
 * The connection also carries the gateway's few small periodic queries (policy reads and
 * reconciliation, heartbeat: `query()`), so that they never wait behind audit batches on
 * the pool and no third connection is needed. It must be a direct connection (or through
 * a session-pooling proxy): a transaction-pooling PgBouncer drops LISTEN.
 *
 * Lifecycle: owners subscribe() (channels + hooks) and unsubscribe() when they stop; the
 * first subscription connects, the last unsubscribe closes. `onConnect` of a subscription
 * runs after every (re)bind of its channels — owners reload everything there, since
 * notifications sent while disconnected are gone. On any connection error the client is
 * discarded and a new one is tried with exponential backoff (with jitter) while anyone is
 * subscribed. subscribe() resolves after that subscription's channels are first bound.
 */
import pg from "pg";
import type { Logger } from "../log";

export interface ListenSubscription {
  channels: string[];
  onNotification(channel: string, payload: string): void;
  onConnect?(): void | Promise<void>;
  onDisconnect?(error: Error): void;
}

export interface PgListenerOptions {
  connectionString: string;
  /** Shows up in pg_stat_activity (tests terminate the connection by this name). */
  applicationName: string;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** What a query needs: a pool, a client, or the listener's connection. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

interface Bound {
  sub: ListenSubscription;
  resolveReady: () => void;
}

export class PgListener {
  private client: pg.Client | null = null;
  private connecting = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Clients already discarded: "error" and "end" both fire for one loss. */
  private readonly lostClients = new WeakSet<pg.Client>();
  private readonly subs = new Map<ListenSubscription, Bound>();
  /** Channels LISTENed on the current client. */
  private readonly bound = new Set<string>();
  /** Queries on the connection run one after another (pg 9 will refuse overlapping ones). */
  private queue: Promise<unknown> = Promise.resolve();
  connected = false;

  constructor(private readonly options: PgListenerOptions) {}

  /** Adds an owner; connects if it is the first. Resolves once its channels are bound. */
  subscribe(sub: ListenSubscription): Promise<void> {
    let resolveReady!: () => void;
    const ready = new Promise<void>((r) => {
      resolveReady = r;
    });
    this.subs.set(sub, { sub, resolveReady });
    if (this.client && this.connected) void this.bindLate(this.client, sub);
    else if (!this.connecting && !this.retryTimer) void this.connect();
    return ready;
  }

  /**
   * Removes an owner; its channels no other owner listens to are UNLISTENed (so their
   * notifications stop costing this process a wake-up each); the last owner closes the
   * connection.
   */
  async unsubscribe(sub: ListenSubscription): Promise<void> {
    if (!this.subs.delete(sub)) return;
    if (this.subs.size > 0) {
      const client = this.client;
      const unused = sub.channels.filter((c) => this.bound.has(c) && !this.listenedBy(c));
      if (!client || !this.connected || unused.length === 0) return;
      // `bound` changes now, so an owner subscribing meanwhile queues its LISTEN after this.
      for (const c of unused) this.bound.delete(c);
      try {
        for (const c of unused) await this.serial(() => client.query(`UNLISTEN ${client.escapeIdentifier(c)}`));
      } catch (error) {
        this.lost(client, error as Error);
      }
      return;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client;
    this.client = null;
    this.connected = false;
    this.bound.clear();
    if (client) {
      this.lostClients.add(client);
      await client.end().catch(() => {});
    }
  }

  private listenedBy(channel: string): boolean {
    for (const { sub } of this.subs.values()) if (sub.channels.includes(channel)) return true;
    return false;
  }

  /** Runs a query on the listening connection; rejects when it is not connected. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new Error("listen connection not connected"));
    return this.serial(() => client.query<R>(text, values));
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /**
   * A Queryable that runs on this connection while it is up and on `fallback` (the pool)
   * while it is not, so those queries never wait for a reconnect.
   */
  orElse(fallback: Queryable): Queryable {
    return {
      query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
        this.client && this.connected ? this.query<R>(text, values) : fallback.query<R>(text, values),
    };
  }

  private async connect(): Promise<void> {
    if (this.subs.size === 0) return;
    this.connecting = true;
    this.retryTimer = null;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: 5000,
      // Detect a dead TCP peer (Postgres host gone) instead of waiting forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
    });
    client.on("notification", (msg) => {
      const payload = msg.payload ?? "";
      for (const { sub } of this.subs.values()) {
        if (sub.channels.includes(msg.channel)) sub.onNotification(msg.channel, payload);
      }
    });
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    const channels = new Set<string>();
    try {
      await client.connect();
      for (const { sub } of this.subs.values()) for (const c of sub.channels) channels.add(c);
      for (const channel of channels) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      this.connecting = false;
      this.lost(client, error as Error);
      return;
    }
    this.connecting = false;
    if (this.subs.size === 0 || this.lostClients.has(client)) {
      this.lostClients.add(client);
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connected = true;
    this.queue = Promise.resolve();
    this.attempt = 0;
    this.bound.clear();
    for (const c of channels) this.bound.add(c);
    this.options.logger.debug({ channels: [...channels] }, "listening");
    // Owners that subscribed while connecting have channels not bound yet.
    for (const bound of [...this.subs.values()]) {
      if (bound.sub.channels.every((c) => this.bound.has(c))) await this.announce(bound);
      else await this.bindLate(client, bound.sub);
    }
  }

  /** Binds a subscription that arrived after the connection was made. */
  private async bindLate(client: pg.Client, sub: ListenSubscription): Promise<void> {
    try {
      for (const channel of sub.channels) {
        if (this.bound.has(channel)) {
          // Bound or being bound by another owner: wait for that LISTEN to have run.
          await this.serial(async () => {});
          continue;
        }
        // Marked now, before the LISTEN runs, so an unsubscribe meanwhile queues its UNLISTEN after it.
        this.bound.add(channel);
        await this.serial(() => client.query(`LISTEN ${client.escapeIdentifier(channel)}`));
      }
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    const bound = this.subs.get(sub);
    if (bound && this.client === client) await this.announce(bound);
  }

  private async announce(bound: Bound): Promise<void> {
    try {
      await bound.sub.onConnect?.();
    } catch (error) {
      this.options.logger.warn({ err: error }, "listener onConnect hook failed");
    }
    bound.resolveReady();
  }

  /** Discards a failed client (once) and schedules a reconnect. */
  private lost(client: pg.Client, error: Error): void {
    if (this.lostClients.has(client)) return;
    this.lostClients.add(client);
    client.end().catch(() => {});
    if (this.client === client) this.client = null;
    this.connected = false;
    this.bound.clear();
    if (this.subs.size === 0) return;
    for (const { sub } of this.subs.values()) sub.onDisconnect?.(error);
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5000;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.options.logger.warn({ err: error.message, retryInMs: Math.round(delay) }, "listen connection lost");
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
