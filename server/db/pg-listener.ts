/**
 * LISTEN on a dedicated Postgres connection, used only as a wake-up signal.
 *
 * Modelled on centrifugo's internal/pgoutbox/listener.go: a notification means "go re-read",
 * never "here is the data"; the owner coalesces wake-ups and has a polling fallback
 * (reconciliation), so a lost notification costs latency, not correctness.
 *
 * Lifecycle: start() connects and LISTENs; `onConnect` runs after every (re)bind — owners
 * reload everything there, since notifications sent while disconnected are gone. On any
 * connection error the client is discarded and a new one is tried with exponential backoff
 * (with jitter) until stop(). `ready` resolves after the first successful bind.
 */
import pg from "pg";
import type { Logger } from "../log";

export interface PgListenerOptions {
  connectionString: string;
  channels: string[];
  /** Shows up in pg_stat_activity (tests terminate the connection by this name). */
  applicationName: string;
  onNotification(channel: string, payload: string): void;
  onConnect?(): void | Promise<void>;
  onDisconnect?(error: Error): void;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Clients already discarded: "error" and "end" both fire for one loss. */
  private readonly lostClients = new WeakSet<pg.Client>();
  private resolveReady!: () => void;
  /** Resolves once LISTEN is bound the first time. */
  readonly ready = new Promise<void>((resolve) => {
    this.resolveReady = resolve;
  });
  connected = false;

  constructor(private readonly options: PgListenerOptions) {}

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    this.connected = false;
    if (client) await client.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: 5000,
      // Detect a dead TCP peer (Postgres host gone) instead of waiting forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
    });
    client.on("notification", (msg) => {
      this.options.onNotification(msg.channel, msg.payload ?? "");
    });
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    try {
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connected = true;
    this.attempt = 0;
    this.options.logger.debug({ channels: this.options.channels }, "listening");
    try {
      await this.options.onConnect?.();
    } catch (error) {
      this.options.logger.warn({ err: error }, "listener onConnect hook failed");
    }
    this.resolveReady();
  }

  /** Discards a failed client (once) and schedules a reconnect. */
  private lost(client: pg.Client, error: Error): void {
    if (this.lostClients.has(client)) return;
    this.lostClients.add(client);
    client.end().catch(() => {});
    if (this.client === client) this.client = null;
    this.connected = false;
    if (this.stopped) return;
    this.options.onDisconnect?.(error);
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5000;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.options.logger.warn({ err: error.message, retryInMs: Math.round(delay) }, "listen connection lost");
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
