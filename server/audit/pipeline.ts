/**
 * Audit pipeline of one gateway: record() is O(1) and never blocks a handshake; events are
 * folded, queued in memory (bounded) and written to Postgres in batches.
 *
 * Folding: the first rejection of a kind (same kind, via, tenant, origin, reason, client
 * address) is queued at once, so it shows up live; identical ones in the next FOLD_WINDOW
 * ms are counted into one more row written when the window closes. Counts are exact.
 * HTTP-side decisions (kinds `http` and `preflight`) and every forward-auth decision fold
 * whatever their outcome, accepted included (SPEC §5.1: a proxy asks on every request); a
 * WebSocket handshake accepted by the gateway itself is a connection and is never folded.
 *
 * Writing: each row is encoded for COPY's text format when it is queued (the queue holds
 * strings, not event objects); one batch in flight at a time, flushed when BATCH_ROWS rows
 * are waiting or FLUSH_MS after the first one, as one `COPY audit_event FROM STDIN`
 * (pg-copy-streams) and one NOTIFY per batch (never per event) to wake the live-stream
 * tails. COPY costs Postgres and the gateway far less per row than a multi-row INSERT of
 * parameter arrays (bench:audit, bench:handshake). Batches take a transaction-scoped
 * advisory lock so that ids are assigned in commit order across the fleet: a reader that
 * saw id N can never later find a row N-1 appear (no gaps on resume).
 *
 * Failure: a failed batch stays at the head of the queue and is retried with backoff;
 * meanwhile events keep queueing up to QUEUE_MAX rows. Past the bound, events are dropped,
 * counted (metrics) and, once Postgres answers again, recorded as a `dropped` row with the
 * exact number — never silent. stop() flushes what it can.
 */
import { finished } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
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

/** audit_event columns, in the order encodeRow() writes them (COPY text format). */
export const COPY_COLUMNS = [
  "gateway_id",
  "ts",
  "last_ts",
  "kind",
  "via",
  "tenant",
  "decision",
  "reason",
  "origin",
  "origin_normalized",
  "remote_addr",
  "user_agent",
  "path",
  "subprotocol",
  "policy_version",
  "matched_pattern",
  "count",
  "close_code",
  "duration_ms",
  "details",
] as const;

const COPY_SQL = `copy audit_event (${COPY_COLUMNS.join(", ")}) from stdin`;
const INT_MAX = 2_147_483_647;
const SPECIAL = /[\\\n\r\t\0]/;
const SPECIAL_ALL = /[\\\n\r\t\0]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\uFFFD" };

/**
 * A text value in COPY's text format: `\N` for null; backslash, newline, carriage return and
 * tab escaped. Postgres text cannot hold NUL, so a NUL becomes U+FFFD (one bad byte must not
 * make a whole batch fail on every retry).
 */
export function copyText(value: string | null | undefined): string {
  if (value == null) return "\\N";
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c] ?? c) : value;
}

/** An int column; clamped to the column's range (a connection open for > 24 days, say). */
function copyInt(value: number | null | undefined): string {
  return value == null ? "\\N" : String(Math.min(INT_MAX, Math.max(-INT_MAX, Math.trunc(value))));
}

let isoSecond = Number.NaN;
let isoPrefix = "";

/**
 * `Date#toISOString()` of an epoch-ms time, or `\N`. Rows come in bursts within the same
 * second, so the "YYYY-MM-DDTHH:MM:SS." part is formatted once per second and reused.
 */
export function copyTime(epochMs: number | null): string {
  if (epochMs === null) return "\\N";
  const whole = Math.trunc(epochMs);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    const iso = new Date(second * 1000).toISOString(); // always ends in ".000Z"
    isoPrefix = iso.slice(0, iso.length - 4);
  }
  const ms = whole - second * 1000;
  return `${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
}

/** One row of `COPY audit_event (COPY_COLUMNS) FROM STDIN`, newline included. */
export function encodeRow(gatewayId: string, e: AuditEventInput, count: number, lastTs: number | null): string {
  return `${gatewayId}\t${copyTime(e.ts)}\t${copyTime(lastTs)}\t${e.kind}\t${e.via ?? "gateway"}\t${copyText(e.tenant)}\t${e.decision}\t${copyText(
    e.reason,
  )}\t${copyText(e.origin)}\t${copyText(e.originNormalized)}\t${copyText(e.remoteAddr)}\t${copyText(
    e.userAgent,
  )}\t${copyText(e.path)}\t${copyText(e.subprotocol)}\t${copyInt(e.policyVersion)}\t${copyText(
    e.matchedPattern,
  )}\t${copyInt(count)}\t${copyInt(e.closeCode)}\t${copyInt(e.durationMs)}\t${copyText(
    e.details ? JSON.stringify(e.details) : null,
  )}\n`;
}

/** Events that fold with identical ones (see the module header). */
function folds(event: AuditEventInput): boolean {
  if (event.kind === "http" || event.kind === "preflight") return true;
  if (event.kind !== "handshake") return false;
  return event.decision === "rejected" || event.via === "forward_auth";
}

export class AuditPipeline implements AuditSink {
  /** Rows waiting to be written, already encoded for COPY, and the events each stands for. */
  private lines: string[] = [];
  private counts: number[] = [];
  private readonly folds = new Map<string, FoldWindow>();
  private flushTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  /** Dropped since the last `dropped` row was written. */
  private droppedUnreported = 0;
  private stopped = false;
  private readonly gatewayIdText: string;
  readonly queueMax: number;
  readonly flushMs: number;
  readonly foldWindowMs: number;
  /** Totals, for tests and health. */
  readonly totals = { recorded: 0, written: 0, dropped: 0, rows: 0 };

  constructor(private readonly options: AuditPipelineOptions) {
    this.queueMax = options.queueMax ?? 100_000;
    this.flushMs = options.flushMs ?? 100;
    this.foldWindowMs = options.foldWindowMs ?? 1000;
    this.gatewayIdText = copyText(options.gatewayId);
  }

  /** Rows waiting to be written. */
  get depth(): number {
    return this.lines.length;
  }

  record(event: AuditEventInput): void {
    const count = event.count ?? 1;
    this.totals.recorded += count;
    if (folds(event)) {
      const key = `${event.kind}\u0000${event.via}\u0000${event.decision}\u0000${event.tenant}\u0000${event.origin}\u0000${event.reason}\u0000${event.remoteAddr}`;
      const fold = this.folds.get(key);
      if (fold && event.ts - fold.startedAt < this.foldWindowMs) {
        if (fold.repeat) {
          fold.repeat.count += count;
          fold.repeat.lastTs = event.ts;
        } else {
          fold.repeat = { ...event, count, lastTs: event.ts };
        }
        this.schedule();
        return;
      }
      if (fold?.repeat) this.enqueue(fold.repeat, fold.repeat.count, fold.repeat.lastTs);
      if (this.folds.size < MAX_FOLD_KEYS || fold) this.folds.set(key, { startedAt: event.ts, repeat: null });
    }
    this.enqueue(event, count, null);
    this.schedule();
  }

  /** Encodes the row now: the queue holds one string per row, not the event objects. */
  private enqueue(event: AuditEventInput, count: number, lastTs: number | null): void {
    if (this.lines.length >= this.queueMax) {
      this.droppedUnreported += count;
      this.totals.dropped += count;
      this.options.metrics.auditDropped.inc(count);
      return;
    }
    this.lines.push(encodeRow(this.gatewayIdText, event, count, lastTs));
    this.counts.push(count);
  }

  /** Moves fold windows that have closed into the queue. */
  private closeFolds(now: number, all = false): void {
    for (const [key, fold] of this.folds) {
      if (all || now - fold.startedAt >= this.foldWindowMs) {
        if (fold.repeat) this.enqueue(fold.repeat, fold.repeat.count, fold.repeat.lastTs);
        this.folds.delete(key);
      }
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.lines.length >= BATCH_ROWS && !this.writing && Date.now() >= this.retryAt) {
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
    if (this.lines.length === 0 && this.droppedUnreported === 0) {
      // Only open fold windows left: come back when they close.
      if (this.folds.size > 0) this.schedule();
      return;
    }
    this.writing = this.writeBatches().finally(() => {
      this.writing = null;
      if (this.lines.length > 0 || this.folds.size > 0) this.schedule();
    });
    return this.writing;
  }

  private async writeBatches(): Promise<void> {
    while (this.lines.length > 0 || this.droppedUnreported > 0) {
      // Rows stay queued until their batch has committed (a failed batch is retried whole).
      const rows = Math.min(BATCH_ROWS, this.lines.length);
      const dropped = this.droppedUnreported;
      let payload = this.lines.slice(0, rows).join("");
      if (dropped > 0) payload += encodeRow(this.gatewayIdText, droppedRecord(dropped), dropped, null);
      try {
        await this.insert(payload);
      } catch (error) {
        this.failures += 1;
        const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        this.retryAt = Date.now() + delay;
        this.options.logger.warn(
          { err: (error as Error).message, queued: this.lines.length, retryInMs: delay },
          "audit write failed; buffering",
        );
        return;
      }
      this.failures = 0;
      this.retryAt = 0;
      this.lines.splice(0, rows);
      const events = this.counts.splice(0, rows).reduce((n, c) => n + c, 0);
      this.droppedUnreported -= dropped;
      this.totals.written += events;
      this.totals.rows += rows;
      this.options.metrics.auditWritten.inc(events);
      this.options.metrics.auditRows.inc(rows + (dropped > 0 ? 1 : 0));
      this.options.metrics.auditQueueDepth.set(this.lines.length);
      if (this.stopped && this.lines.length === 0) break;
    }
  }

  /**
   * One batch, one transaction: the fleet-wide advisory lock (commit order = id order),
   * COPY of the rows, and one NOTIFY delivered at commit. Three round trips per batch.
   */
  private async insert(payload: string): Promise<void> {
    const client = await this.options.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`begin; select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`);
      const copy = client.query(copyFrom(COPY_SQL));
      copy.end(payload);
      await finished(copy);
      // One wake-up per batch for every gateway's live-stream tail (delivered at commit).
      await client.query(
        `select pg_notify('${AUDIT_CHANNEL}', ${client.escapeLiteral(this.options.gatewayId)}); commit`,
      );
    } catch (error) {
      await client.query("rollback").catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      // A connection that could not even roll back is discarded, not returned to the pool.
      client.release(broken);
    }
  }

  /** Flushes everything (fold windows included), retrying for up to `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const deadline = Date.now() + timeoutMs;
    this.closeFolds(Date.now(), true);
    while ((this.lines.length > 0 || this.droppedUnreported > 0) && Date.now() < deadline) {
      this.retryAt = 0;
      await this.flush(true);
      if (this.lines.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    this.stopped = true;
    if (this.lines.length > 0) {
      const lost = this.counts.reduce((n, c) => n + c, 0);
      this.options.metrics.auditDropped.inc(lost);
      this.totals.dropped += lost;
      this.options.logger.error({ lost }, "audit events could not be written before shutdown");
    }
  }
}

function droppedRecord(count: number): AuditEventInput {
  return {
    ts: Date.now(),
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
