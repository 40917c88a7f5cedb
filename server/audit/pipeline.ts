/**
 * Audit pipeline of one gateway: record() is O(1) and never blocks a handshake; events are
 * folded, queued in memory (bounded) and written to Postgres in batches.
 *
 * Folding: the first rejection of a kind (same tenant, origin, reason, client address)
 * is queued at once, so it shows up live; identical ones in the next FOLD_WINDOW ms are
 * counted into one more row written when the window closes. Counts are exact.
 *
 * Writing: one batch in flight at a time, flushed when BATCH_ROWS rows are waiting or
 * FLUSH_MS after the first one; a multi-row INSERT ... SELECT FROM unnest(...) per batch
 * and one NOTIFY per batch (never per event) to wake the live-stream tails. Batches take a
 * transaction-scoped advisory lock so that ids are assigned in commit order across the
 * fleet: a reader that saw id N can never later find a row N-1 appear (no gaps on resume).
 *
 * Failure: a failed batch stays at the head of the queue and is retried with backoff;
 * meanwhile events keep queueing up to QUEUE_MAX rows. Past the bound, events are dropped,
 * counted (metrics) and, once Postgres answers again, recorded as a `dropped` row with the
 * exact number — never silent. stop() flushes what it can.
 */
import type pg from "pg";
import type { Metrics } from "../admin/metrics";
import type { Logger } from "../log";
import type { AuditEventInput, AuditSink } from "./types";

export const AUDIT_CHANNEL = "audit_events";
/** Arbitrary constant: the advisory lock that orders audit batch commits fleet-wide. */
const AUDIT_LOCK_KEY = 0x0a0d17;
const BATCH_ROWS = 5000;
const MAX_FOLD_KEYS = 50_000;

interface QueuedEvent extends AuditEventInput {
  count: number;
  lastTs: number | null;
}

interface FoldWindow {
  startedAt: number;
  repeat: QueuedEvent | null;
}

export interface AuditPipelineOptions {
  pool: pg.Pool;
  gatewayId: string;
  logger: Logger;
  metrics: Metrics;
  queueMax?: number;
  flushMs?: number;
  foldWindowMs?: number;
}

/** audit_event columns written per event: name, SQL array type, value. */
const INSERT_COLUMNS: Array<[column: string, type: string, value: (e: QueuedEvent) => unknown]> = [
  ["ts", "timestamptz", (e) => new Date(e.ts).toISOString()],
  ["last_ts", "timestamptz", (e) => (e.lastTs === null ? null : new Date(e.lastTs).toISOString())],
  ["kind", "audit_kind", (e) => e.kind],
  ["tenant", "text", (e) => e.tenant],
  ["decision", "audit_decision", (e) => e.decision],
  ["reason", "text", (e) => e.reason],
  ["origin", "text", (e) => e.origin],
  ["origin_normalized", "text", (e) => e.originNormalized],
  ["remote_addr", "text", (e) => e.remoteAddr],
  ["user_agent", "text", (e) => e.userAgent],
  ["path", "text", (e) => e.path],
  ["subprotocol", "text", (e) => e.subprotocol],
  ["policy_version", "int", (e) => e.policyVersion],
  ["matched_pattern", "text", (e) => e.matchedPattern],
  ["count", "int", (e) => e.count],
  ["close_code", "int", (e) => e.closeCode ?? null],
  ["duration_ms", "int", (e) => e.durationMs ?? null],
  ["details", "jsonb", (e) => (e.details ? JSON.stringify(e.details) : null)],
];

/** `insert ... select from unnest($2::type[], ...)`; $1 is the gateway id, the same for every row. */
const INSERT_SQL = `insert into audit_event (gateway_id, ${INSERT_COLUMNS.map(([c]) => c).join(", ")})
  select $1, * from unnest(${INSERT_COLUMNS.map(([, type], i) => `$${i + 2}::${type}[]`).join(", ")})`;

export class AuditPipeline implements AuditSink {
  private queue: QueuedEvent[] = [];
  private readonly folds = new Map<string, FoldWindow>();
  private flushTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  /** Dropped since the last `dropped` row was written. */
  private droppedUnreported = 0;
  private stopped = false;
  readonly queueMax: number;
  readonly flushMs: number;
  readonly foldWindowMs: number;
  /** Totals, for tests and health. */
  readonly totals = { recorded: 0, written: 0, dropped: 0, rows: 0 };

  constructor(private readonly options: AuditPipelineOptions) {
    this.queueMax = options.queueMax ?? 100_000;
    this.flushMs = options.flushMs ?? 100;
    this.foldWindowMs = options.foldWindowMs ?? 1000;
  }

  get depth(): number {
    return this.queue.length;
  }

  record(event: AuditEventInput): void {
    this.totals.recorded += event.count ?? 1;
    if (event.decision === "rejected" && event.kind === "handshake") {
      const key = `${event.tenant}\u0000${event.origin}\u0000${event.reason}\u0000${event.remoteAddr}`;
      const fold = this.folds.get(key);
      if (fold && event.ts - fold.startedAt < this.foldWindowMs) {
        if (fold.repeat) {
          fold.repeat.count += event.count ?? 1;
          fold.repeat.lastTs = event.ts;
        } else {
          fold.repeat = { ...event, count: event.count ?? 1, lastTs: event.ts };
        }
        this.schedule();
        return;
      }
      if (fold?.repeat) this.enqueue(fold.repeat);
      if (this.folds.size < MAX_FOLD_KEYS || fold) this.folds.set(key, { startedAt: event.ts, repeat: null });
    }
    this.enqueue({ ...event, count: event.count ?? 1, lastTs: null });
    this.schedule();
  }

  private enqueue(event: QueuedEvent): void {
    if (this.queue.length >= this.queueMax) {
      this.droppedUnreported += event.count;
      this.totals.dropped += event.count;
      this.options.metrics.auditDropped.inc(event.count);
      return;
    }
    this.queue.push(event);
    this.options.metrics.auditQueueDepth.set(this.queue.length);
  }

  /** Moves fold windows that have closed into the queue. */
  private closeFolds(now: number, all = false): void {
    for (const [key, fold] of this.folds) {
      if (all || now - fold.startedAt >= this.foldWindowMs) {
        if (fold.repeat) this.enqueue(fold.repeat);
        this.folds.delete(key);
      }
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.queue.length >= BATCH_ROWS && !this.writing && Date.now() >= this.retryAt) {
      void this.flush();
      return;
    }
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(
        () => {
          this.flushTimer = null;
          void this.flush();
        },
        Math.max(this.flushMs, this.retryAt - Date.now()),
      );
      this.flushTimer.unref();
    }
  }

  /** Writes everything queued now (one batch at a time). Resolves when done or failed. */
  async flush(all = false): Promise<void> {
    if (this.writing) return this.writing;
    this.closeFolds(Date.now(), all);
    if (this.queue.length === 0 && this.droppedUnreported === 0) {
      // Only open fold windows left: come back when they close.
      if (this.folds.size > 0) this.schedule();
      return;
    }
    this.writing = this.writeBatches().finally(() => {
      this.writing = null;
      if (this.queue.length > 0 || this.folds.size > 0) this.schedule();
    });
    return this.writing;
  }

  private async writeBatches(): Promise<void> {
    while (this.queue.length > 0 || this.droppedUnreported > 0) {
      const batch = this.queue.slice(0, BATCH_ROWS);
      const dropped = this.droppedUnreported;
      if (dropped > 0) {
        batch.push(droppedRecord(dropped));
      }
      try {
        await this.insert(batch);
      } catch (error) {
        this.failures += 1;
        const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        this.retryAt = Date.now() + delay;
        this.options.logger.warn(
          { err: (error as Error).message, queued: this.queue.length, retryInMs: delay },
          "audit write failed; buffering",
        );
        return;
      }
      this.failures = 0;
      this.retryAt = 0;
      const written = dropped > 0 ? batch.length - 1 : batch.length;
      this.queue.splice(0, written);
      this.droppedUnreported -= dropped;
      const events = batch.slice(0, written).reduce((n, e) => n + e.count, 0);
      this.totals.written += events;
      this.totals.rows += written;
      this.options.metrics.auditWritten.inc(events);
      this.options.metrics.auditRows.inc(batch.length);
      this.options.metrics.auditQueueDepth.set(this.queue.length);
      if (this.stopped && this.queue.length === 0) break;
    }
  }

  private async insert(batch: QueuedEvent[]): Promise<void> {
    // One array parameter per column; unnest() turns them back into rows.
    const arrays = INSERT_COLUMNS.map(([, , value]) => batch.map(value));
    const client = await this.options.pool.connect();
    try {
      await client.query("begin");
      await client.query("select pg_advisory_xact_lock($1)", [AUDIT_LOCK_KEY]);
      await client.query(INSERT_SQL, [this.options.gatewayId, ...arrays]);
      // One wake-up per batch for every gateway's live-stream tail (delivered at commit).
      await client.query("select pg_notify($1, $2)", [AUDIT_CHANNEL, this.options.gatewayId]);
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** Flushes everything (fold windows included), retrying for up to `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const deadline = Date.now() + timeoutMs;
    this.closeFolds(Date.now(), true);
    while ((this.queue.length > 0 || this.droppedUnreported > 0) && Date.now() < deadline) {
      this.retryAt = 0;
      await this.flush(true);
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    this.stopped = true;
    if (this.queue.length > 0) {
      const lost = this.queue.reduce((n, e) => n + e.count, 0);
      this.options.metrics.auditDropped.inc(lost);
      this.totals.dropped += lost;
      this.options.logger.error({ lost }, "audit events could not be written before shutdown");
    }
  }
}

function droppedRecord(count: number): QueuedEvent {
  return {
    ts: Date.now(),
    lastTs: null,
    kind: "dropped",
    tenant: null,
    decision: "rejected",
    reason: "audit_dropped",
    origin: null,
    originNormalized: null,
    remoteAddr: null,
    userAgent: null,
    path: null,
    subprotocol: null,
    policyVersion: null,
    matchedPattern: null,
    count,
    details: { note: "events dropped: the in-memory audit buffer was full while Postgres was unavailable" },
  };
}
