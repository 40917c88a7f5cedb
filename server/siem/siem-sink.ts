/**
 * One SIEM destination of one gateway: a bounded in-memory queue of formatted messages and
 * one delivery loop, with the main pipeline's no-loss accounting (SPEC §6).
 *
 * - enqueue() is O(events) and never blocks: each event is formatted once (syslog frame or
 *   NDJSON line) and queued. When QUEUE holds `queueMax` messages (the destination is down
 *   or too slow), further events are dropped and counted (metric, health) — and the
 *   destination is told: once there is room again, a gap notice with the number of events
 *   it lost is queued in their place, so the SIEM knows what it is missing.
 * - One delivery at a time takes up to `batchMax` messages from the head; on success they
 *   leave the queue, on failure they stay and the loop retries with backoff (0.5 s doubling
 *   to 30 s), in order. What a successful send means is the subclass's: webhook-sink.ts
 *   counts them exported at once (a 2xx); syslog-sink.ts holds them until its connection
 *   outlived them (onSent / countExported) and puts them back at the head (requeue) when
 *   the connection broke first.
 * - Health: `dropping` while a drop happened in the last DROPPING_HOLD_MS, `buffering` while
 *   messages wait and the last delivery failed, otherwise `ok`.
 *
 * Lifecycle: created and stopped by the exporter (siem-exporter.ts) as destinations are
 * registered, changed or removed; stop() tries to deliver what is queued for a bounded
 * time, then counts the rest as dropped.
 */
import type { Metrics } from "../admin/metrics";
import { clip } from "../clip";
import type { Logger } from "../log";
import type { ExportedEvent } from "./exported-event";

export const DROPPING_HOLD_MS = 60_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export type SinkStatus = "ok" | "buffering" | "dropping";

export interface SiemDestinationConfig {
  id: string;
  name: string;
  kind: "syslog" | "webhook";
  url: string;
  /** The webhook's signing secret, in the clear (null for syslog). */
  secret: string | null;
}

export interface SinkHealth {
  status: SinkStatus;
  queueDepth: number;
  exported: number;
  dropped: number;
}

export interface SinkHealthDetail extends SinkHealth {
  id: string;
  name: string;
  kind: SiemDestinationConfig["kind"];
  lastError: string | null;
  lastDeliveredAt: string | null;
}

export interface SinkOptions {
  gatewayId: string;
  host: string;
  logger: Logger;
  metrics: Metrics;
  queueMax: number;
  batchMax?: number;
  /** Longest wait between delivery attempts (default BACKOFF_MAX_MS). */
  backoffMaxMs?: number;
}

export abstract class SiemSink {
  /** Formatted messages waiting, oldest first. */
  protected queue: string[] = [];
  /** Events of each queued message (a gap notice stands for none). */
  protected events: number[] = [];
  private unreportedDrops = 0;
  private lastDropAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private delivering: Promise<void> | null = null;
  private stopped = false;
  protected lastError: string | null = null;
  private lastDeliveredAt: number | null = null;
  readonly totals = { exported: 0, dropped: 0 };

  constructor(
    readonly config: SiemDestinationConfig,
    protected readonly options: SinkOptions,
  ) {}

  /** One committed event as this destination's message. */
  protected abstract format(event: ExportedEvent): string;
  /** The notice that `dropped` events will never come. */
  protected abstract formatGap(dropped: number): string;
  /** Delivers `messages` (in order); resolves when they are delivered, rejects when not. */
  protected abstract send(messages: string[]): Promise<void>;
  /** Closes connections (stop()). */
  protected abstract close(): Promise<void>;

  enqueue(events: ReadonlyArray<ExportedEvent>): void {
    if (this.stopped) return;
    for (const event of events) {
      this.reportGap();
      if (this.queue.length >= this.options.queueMax) {
        this.unreportedDrops += 1;
        this.totals.dropped += 1;
        this.lastDropAt = Date.now();
        this.options.metrics.siemDropped.inc({ destination: this.config.name });
        continue;
      }
      this.queue.push(this.format(event));
      this.events.push(1);
    }
    this.depthChanged();
    this.kick();
  }

  health(now = Date.now()): SinkHealth {
    let status: SinkStatus = "ok";
    if (now - this.lastDropAt < DROPPING_HOLD_MS) status = "dropping";
    else if (this.queue.length > 0 && this.failures > 0) status = "buffering";
    return {
      status,
      queueDepth: this.queue.length + this.unsettled(),
      exported: this.totals.exported,
      dropped: this.totals.dropped,
    };
  }

  healthDetail(now = Date.now()): SinkHealthDetail {
    return {
      ...this.health(now),
      id: this.config.id,
      name: this.config.name,
      kind: this.config.kind,
      lastError: this.lastError,
      lastDeliveredAt: this.lastDeliveredAt === null ? null : new Date(this.lastDeliveredAt).toISOString(),
    };
  }

  /** Queues the gap notice when there are unreported drops and room for it. */
  private reportGap(): void {
    if (this.unreportedDrops === 0 || this.queue.length >= this.options.queueMax) return;
    this.queue.push(this.formatGap(this.unreportedDrops));
    this.events.push(0);
    this.options.logger.warn(
      { destination: this.config.name, dropped: this.unreportedDrops },
      "SIEM destination lost events (buffer full); a gap notice is queued for it",
    );
    this.unreportedDrops = 0;
  }

  /** Starts a delivery unless one is running or a retry is scheduled. */
  protected kick(): void {
    if (this.stopped) return;
    if (this.delivering || this.timer || this.queue.length === 0) return;
    this.delivering = this.deliverHead().finally(() => {
      this.delivering = null;
      this.kick(); // whatever was queued meanwhile (or a gap notice) goes next
    });
  }

  private async deliverHead(): Promise<void> {
    const count = Math.min(this.queue.length, this.options.batchMax ?? 500);
    const messages = this.queue.slice(0, count);
    try {
      await this.send(messages);
    } catch (error) {
      this.failures += 1;
      this.lastError = clip((error as Error).message, 200) as string;
      const delay = Math.min(
        this.options.backoffMaxMs ?? BACKOFF_MAX_MS,
        BACKOFF_MIN_MS * 2 ** Math.min(this.failures - 1, 10),
      );
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.options.logger.warn(
          { destination: this.config.name, err: this.lastError, queued: this.queue.length, retryInMs: delay },
          "SIEM delivery failed; buffering",
        );
      }
      if (!this.stopped) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, delay);
        this.timer.unref();
      }
      return;
    }
    this.queue.splice(0, count);
    const events = this.events.splice(0, count);
    this.failures = 0;
    this.lastError = null;
    this.onSent(messages, events);
    this.reportGap();
    this.depthChanged();
  }

  /** Sent messages and the events each stands for: exported now (a subclass may wait). */
  protected onSent(_messages: string[], events: number[]): void {
    this.countExported(events);
  }

  protected countExported(events: number[]): void {
    let n = 0;
    for (const e of events) n += e;
    this.lastDeliveredAt = Date.now();
    this.totals.exported += n;
    this.options.metrics.siemExported.inc({ destination: this.config.name }, n);
  }

  /** Puts sent messages back at the head: they may not have arrived (a broken connection). */
  protected requeue(messages: string[], events: number[]): void {
    this.queue.unshift(...messages);
    this.events.unshift(...events);
    this.depthChanged();
    this.kick();
  }

  /** Sent and not yet settled (the subclass's; none by default). */
  protected unsettled(): number {
    return 0;
  }

  /** Gives up the unsettled messages (stop()): the events they stand for. */
  protected abandonUnsettled(): number {
    return 0;
  }

  protected depthChanged(): void {
    this.options.metrics.siemQueueDepth.set({ destination: this.config.name }, this.queue.length + this.unsettled());
  }

  /**
   * Delivers (and settles) what it can within `timeoutMs`, then stops; whatever is left is
   * counted as dropped (and logged). Metric series of this destination are removed.
   */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.unsettled() > 0) && Date.now() < deadline) {
      if (this.timer && this.failures === 0) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.kick();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.delivering;
    const lost = this.events.reduce((n, e) => n + e, 0) + this.abandonUnsettled();
    if (lost > 0) {
      this.totals.dropped += lost;
      this.options.metrics.siemDropped.inc({ destination: this.config.name }, lost);
      this.options.logger.error(
        { destination: this.config.name, lost },
        "SIEM destination stopped with events it never received",
      );
    }
    this.queue = [];
    this.events = [];
    await this.close().catch(() => {});
    for (const metric of [
      this.options.metrics.siemExported,
      this.options.metrics.siemDropped,
      this.options.metrics.siemResent,
      this.options.metrics.siemQueueDepth,
    ]) {
      metric.remove({ destination: this.config.name });
    }
  }
}
