/**
 * Follows `audit_event` as it grows, for the live stream: every gateway's writer sends one
 * NOTIFY `audit_events` per committed batch; each wake-up makes the tail read the rows after
 * the last id it dispatched (in pages, oldest first) and emit them. Wake-ups are coalesced,
 * and a slow poll covers lost notifications. Events written by other gateways arrive the
 * same way as our own.
 *
 * The tail reads only while someone watches: the stream hub acquire()s it for each open
 * admin stream and release()s it when the stream closes. Without watchers it reads nothing
 * (reading every row back costs the gateway and Postgres about as much as writing it,
 * bench:handshake) and neither polls nor even LISTENs: every gateway's every batch would otherwise wake
 * every gateway of the fleet for nothing. The first acquire() LISTENs, then moves `lastId` to
 * the newest row, so a stream without a resume point starts at "now", and one with a resume
 * point backfills from it; the last release() UNLISTENs.
 */
import { EventEmitter } from "node:events";
import type pg from "pg";
import { type AuditEvent, auditAfter, latestAuditId } from "../db/audit-queries";
import { type ListenSubscription, PgListener } from "../db/pg-listener";
import type { Logger } from "../log";
import { AUDIT_CHANNEL } from "./pipeline";

const PAGE = 1000;
const POLL_MS = 2000;
/** How long the first acquire() waits for its LISTEN before reading the position anyway (the poll covers the rest). */
const LISTEN_WAIT_MS = 2000;

type Events = { event: [AuditEvent] };

export class AuditTail extends EventEmitter<Events> {
  /** Highest id dispatched so far ("0" before start). */
  lastId = "0";
  private running: Promise<void> | null = null;
  private again = false;
  private poller: NodeJS.Timeout | null = null;
  private readonly listener: PgListener;
  private readonly subscription: ListenSubscription;
  /** Open admin streams using the tail; it reads only while this is above 0. */
  private watchers = 0;
  private activating: Promise<void> | null = null;
  /** False until `lastId` is known to be the newest row (or while an activation failed). */
  private positioned = false;
  /** The LISTEN of the current watchers, bound (resolved) or being bound; null without watchers. */
  private listening: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    /** The process's shared LISTEN connection, or a connection string to open one of its own. */
    listen: PgListener | string,
    gatewayId: string,
    private readonly logger: Logger,
  ) {
    super();
    this.setMaxListeners(0);
    this.listener =
      typeof listen === "string"
        ? new PgListener({
            connectionString: listen,
            applicationName: `origingate-audit-listen-${gatewayId}`.slice(0, 63),
            logger,
          })
        : listen;
    this.subscription = {
      channels: [AUDIT_CHANNEL],
      onNotification: () => this.wake(),
      // Not awaited by the listener: during an activation wake() returns the activation,
      // which itself waits for this subscription's LISTEN.
      onConnect: () => {
        void this.wake();
      },
    };
  }

  async start(): Promise<void> {
    this.lastId = await latestAuditId(this.pool);
    this.positioned = true;
  }

  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    if (this.listening) {
      this.listening = null;
      await this.listener.unsubscribe(this.subscription);
    }
    await this.running;
  }

  /**
   * One more watcher. Resolves once `lastId` is current: when the tail was idle (or has
   * never found its position) it is moved to the newest row, after any read still in
   * progress, without emitting older rows. Resolves false when Postgres could not say
   * where the newest row is (the position is then unknown, and nothing is read).
   */
  async acquire(): Promise<boolean> {
    this.watchers += 1;
    if (!this.listening) {
      this.listening = this.listener.subscribe(this.subscription);
      // The poll that covers lost notifications, as long as someone watches.
      this.poller = setInterval(() => this.wake(), POLL_MS);
      this.poller.unref();
    }
    if ((this.watchers === 1 || !this.positioned) && !this.activating) {
      this.positioned = false;
      this.activating = this.catchUp().finally(() => {
        this.activating = null;
        // Batches committed while the position was being read: their wake-ups were skipped.
        if (this.positioned) void this.wake();
      });
    }
    await this.activating;
    return this.positioned;
  }

  release(): void {
    this.watchers = Math.max(0, this.watchers - 1);
    if (this.watchers === 0 && this.listening) {
      this.listening = null;
      if (this.poller) clearInterval(this.poller);
      this.poller = null;
      void this.listener.unsubscribe(this.subscription);
    }
  }

  private async catchUp(): Promise<void> {
    await this.running;
    // LISTEN first, then read the position: a batch committed in between wakes the tail.
    const listening = this.listening;
    if (listening) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([listening, new Promise<void>((r) => (timer = setTimeout(r, LISTEN_WAIT_MS)))]);
      clearTimeout(timer);
    }
    try {
      this.lastId = await latestAuditId(this.pool);
      this.positioned = true;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, "audit tail could not find the newest event");
    }
  }

  /** Reads everything new now (coalesced with a read in progress); nothing without watchers. */
  wake(): Promise<void> {
    if (this.watchers === 0 || !this.positioned || this.activating) return this.activating ?? Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.watchers === 0 || !this.positioned) return;
        let page: AuditEvent[];
        do {
          page = await auditAfter(this.pool, this.lastId, PAGE);
          for (const event of page) {
            this.lastId = event.id;
            this.emit("event", event);
          }
        } while (page.length === PAGE);
      } while (this.again);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, "audit tail read failed; will retry");
    }
  }
}
