/**
 * Audit pipeline of one gateway: record() is O(1) and never blocks a handshake; events are
 * bounded, folded, queued in memory (bounded) and written to Postgres in batches.
 *
 * Bounding: record() clips every value of the event to its fixed length before anything
 * else (server/audit/bound-event.ts, SPEC §5), so the fold keys, the queue and the rows are
 * bounded whatever a client sent.
 *
 * Folding: the first rejection of a kind (same kind, via, tenant, origin, reason, client
 * address) is queued at once, so it shows up live; identical ones in the next FOLD_WINDOW
 * ms are counted into one more row written when the window closes. Counts are exact.
 * HTTP-side decisions (kinds `http` and `preflight`) and every forward-auth decision fold
 * whatever their outcome, accepted included (SPEC §5.1: a proxy asks on every request); a
 * WebSocket handshake accepted by the gateway itself is a connection and is never folded.
 *
 * Writing: each row is encoded for COPY's text format when it is queued (the queue holds
 * strings, not event objects; server/audit/copy-row.ts); one batch in flight at a time,
 * flushed when BATCH_ROWS rows are waiting or FLUSH_MS after the first one, as one
 * `COPY audit_event FROM STDIN` and one NOTIFY per batch (never per event) to wake the
 * live-stream tails, the whole transaction in one round trip (server/audit/copy-batch.ts:
 * round trips, not rows, are most of what a batch costs the gateway). COPY costs Postgres and the gateway far less per row
 * than a multi-row INSERT of parameter arrays (bench:audit, bench:handshake). Batches take a
 * transaction-scoped advisory lock so that ids are assigned in commit order across the
 * fleet: a reader that saw id N can never later find a row N-1 appear (no gaps on resume).
 *
 * Failure, two kinds (SPEC §6), told apart by the SQLSTATE of the error:
 *  - Postgres is unavailable (no connection, shutdown, a missing table, anything that is
 *    not about the rows): the batch stays at the head of the queue and is retried with
 *    backoff; meanwhile events keep queueing up to QUEUE_MAX rows. Past the bound, events are
 *    dropped, counted (metrics) and, once Postgres answers again, recorded as a `dropped`
 *    row with the exact number — never silent.
 *  - Postgres refused the data (SQLSTATE class 22 data exception, 23 integrity violation,
 *    54000 e.g. an index entry too large): the batch is split in halves, recursively, until
 *    the refused rows are isolated; every other row is written. A refused single row is
 *    tried once more with every text column cut to HARD_CLIP_TEXT and the cause in its
 *    details; if Postgres refuses that too, it is dropped, counted and recorded in a
 *    `dropped` row with the cause. One row can never hold up the rest of the trail.
 * Rows are settled strictly in queue order, so whatever was written is always a prefix of
 * the queue and an outage in the middle of a split loses nothing.
 *
 * Health (`health()`, reported by /healthz): `dropping` while an event was dropped in the
 * last DROPPING_HOLD_MS; otherwise `stalled` while rows are pending and either the last
 * write failed (Postgres unavailable) or the oldest pending row has waited longer than
 * `stallAfterMs` (default: 10 × flush interval, at least 2 s); otherwise `ok`.
 *
 * Committed batches: `onCommitted(listener)` hears every batch after its transaction
 * committed, in commit order, with the ids Postgres gave its rows (the SIEM export,
 * server/siem/, streams exactly what is durable, once per gateway). Ids are known without a
 * read back: the batch's transaction takes one `nextval` of the id sequence right after the
 * lock and reads `currval` after the COPY; when the difference is the row count, every id in
 * between is one of its rows, in COPY order (nobody else took a value in between, whoever
 * they are); otherwise its rows' ids are read back by gateway id after the commit.
 *
 * stop() flushes what it can.
 */
import pg from "pg";
import type { Metrics } from "../admin/metrics";
import { clip, TEXT_LIMITS } from "../clip";
import type { Logger } from "../log";
import { boundEvent } from "./bound-event";
import { runCopyBatch } from "./copy-batch";
import { COPY_SQL, copyText, encodeRow, hardClipRow } from "./copy-row";
import type { AuditEventInput, AuditSink } from "./types";

export const AUDIT_CHANNEL = "audit_events";
/** Arbitrary constant: the advisory lock that orders audit batch commits fleet-wide. */
const AUDIT_LOCK_KEY = 0x0a0d17;
const BATCH_ROWS = 5000;
export const MAX_FOLD_KEYS = 50_000;
/** How long /healthz keeps saying `dropping` after the last dropped event. */
export const DROPPING_HOLD_MS = 60_000;
/** Bound of an error text kept for health and written into a `dropped` row. */
const MAX_ERROR_TEXT = 200;

interface QueuedEvent extends AuditEventInput {
  count: number;
  lastTs: number | null;
}

interface FoldWindow {
  startedAt: number;
  repeat: QueuedEvent | null;
}

/** Why events were dropped: the buffer was full, or Postgres refused them even clipped. */
export type DropCause = "queue_full" | "refused";

export type AuditStatus = "ok" | "stalled" | "dropping";

/**
 * A committed batch: its rows as COPY text lines (COPY_COLUMNS order, server/audit/copy-row.ts,
 * one per line, newline included) and `ids()`, the id of each row, ascending (computed when
 * asked: a listener with nothing to do never pays for it). Called in commit order.
 */
export type CommittedListener = (batch: { ids(): string[]; payload: string }) => void;

/** What /healthz shows of the pipeline (public: no error text). */
export interface AuditHealth {
  status: AuditStatus;
  /** Rows waiting to be written. */
  queueDepth: number;
  /** How long the oldest of them has been waiting (0 when none is). */
  oldestPendingMs: number;
}

/** What the admin listener's /healthz adds (internal: may hold database error text). */
export interface AuditHealthDetail extends AuditHealth {
  lastError: string | null;
  totals: AuditPipeline["totals"];
}

export interface AuditPipelineOptions {
  pool: pg.Pool;
  gatewayId: string;
  logger: Logger;
  metrics: Metrics;
  queueMax?: number;
  flushMs?: number;
  foldWindowMs?: number;
  /** A pending row older than this makes the pipeline `stalled` (default max(2 s, 10 × flushMs)). */
  stallAfterMs?: number;
}

type InsertResult = { ok: true } | { ok: false; refused: boolean; error: Error };

const ID_SEQUENCE = "audit_event_id_seq";

/** The `dropped` rows owed, as they were when a batch was put together. */
interface DropReport {
  payload: string;
  rows: number;
  counts: Record<DropCause, number>;
}

/** Events that fold with identical ones (see the module header). */
function folds(event: AuditEventInput): boolean {
  if (event.kind === "http" || event.kind === "preflight") return true;
  if (event.kind !== "handshake") return false;
  return event.decision === "rejected" || event.via === "forward_auth";
}

export class AuditPipeline implements AuditSink {
  /** Rows waiting to be written, already encoded for COPY; the events each stands for; when each was queued. */
  private lines: string[] = [];
  private counts: number[] = [];
  private queuedAt: number[] = [];
  private readonly folds = new Map<string, FoldWindow>();
  private flushTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  /** Dropped since the last `dropped` rows were written, by cause. */
  private readonly unreported: Record<DropCause, number> = { queue_full: 0, refused: 0 };
  /** Postgres' last refusal of a row that then had to be dropped (goes into the `dropped` row). */
  private lastRefusal: string | null = null;
  private lastDropAt = Number.NEGATIVE_INFINITY;
  private lastError: string | null = null;
  private stopped = false;
  private readonly gatewayIdText: string;
  /** The statements of one batch (insert()), the COPY's data sent with them. */
  private readonly batchSql: string;
  readonly queueMax: number;
  readonly flushMs: number;
  readonly foldWindowMs: number;
  readonly stallAfterMs: number;
  private readonly committedListeners: CommittedListener[] = [];
  /** Totals, for tests and health. `clipped`: rows Postgres refused that were stored hard-clipped. */
  readonly totals = { recorded: 0, written: 0, dropped: 0, rows: 0, clipped: 0 };

  constructor(private readonly options: AuditPipelineOptions) {
    this.queueMax = options.queueMax ?? 100_000;
    this.flushMs = options.flushMs ?? 100;
    this.foldWindowMs = options.foldWindowMs ?? 1000;
    this.stallAfterMs = options.stallAfterMs ?? Math.max(2000, 10 * this.flushMs);
    this.gatewayIdText = copyText(clip(options.gatewayId, TEXT_LIMITS.gatewayId));
    this.batchSql =
      `begin; select pg_advisory_xact_lock(${AUDIT_LOCK_KEY}), nextval('${ID_SEQUENCE}')::text as before; ${COPY_SQL}; ` +
      `select pg_notify('${AUDIT_CHANNEL}', ${pg.escapeLiteral(options.gatewayId)}), currval('${ID_SEQUENCE}')::text as last; commit`;
  }

  /** Hears every committed batch with its ids (see the module header); returns the unsubscribe. */
  onCommitted(listener: CommittedListener): () => void {
    this.committedListeners.push(listener);
    return () => {
      const i = this.committedListeners.indexOf(listener);
      if (i >= 0) this.committedListeners.splice(i, 1);
    };
  }

  /** Rows waiting to be written. */
  get depth(): number {
    return this.lines.length;
  }

  /** Open fold windows (at most MAX_FOLD_KEYS). */
  get foldKeys(): number {
    return this.folds.size;
  }

  record(input: AuditEventInput): void {
    const event = boundEvent(input);
    const count = event.count ?? 1;
    this.totals.recorded += count;
    if (folds(event)) {
      const key = `${event.kind}\u0000${event.via}\u0000${event.decision}\u0000${event.tenant}\u0000${event.origin}\u0000${event.reason}\u0000${event.remoteAddr}\u0000${event.shadowReason}\u0000${event.credentials}\u0000${event.tokenState}\u0000${event.offeredSubprotocols}`;
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

  /** The pipeline's state for /healthz (see the module header for the statuses). */
  health(now = Date.now()): AuditHealth {
    const queueDepth = this.lines.length;
    const oldestPendingMs = queueDepth > 0 ? Math.max(0, now - this.queuedAt[0]!) : 0;
    let status: AuditStatus = "ok";
    if (now - this.lastDropAt < DROPPING_HOLD_MS) status = "dropping";
    else if (queueDepth > 0 && (this.failures > 0 || oldestPendingMs > this.stallAfterMs)) status = "stalled";
    return { status, queueDepth, oldestPendingMs };
  }

  /** health() plus the last write error and the totals (admin listener only). */
  healthDetail(now = Date.now()): AuditHealthDetail {
    return { ...this.health(now), lastError: this.lastError, totals: { ...this.totals } };
  }

  /** Encodes the row now: the queue holds one string per row, not the event objects. */
  private enqueue(event: AuditEventInput, count: number, lastTs: number | null): void {
    if (this.lines.length >= this.queueMax) {
      this.drop("queue_full", count);
      return;
    }
    this.lines.push(encodeRow(this.gatewayIdText, event, count, lastTs));
    this.counts.push(count);
    this.queuedAt.push(Date.now());
  }

  /** Counts `count` events as dropped; they are reported in a `dropped` row when Postgres takes one. */
  private drop(cause: DropCause, count: number): void {
    this.unreported[cause] += count;
    this.totals.dropped += count;
    this.lastDropAt = Date.now();
    this.options.metrics.auditDropped.inc(count);
  }

  private hasUnreported(): boolean {
    return this.unreported.queue_full > 0 || this.unreported.refused > 0;
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
    // While a batch is being written its rows are still queued, so a timer set now would
    // count from the oldest of them and fire right after the write, sending the rows that
    // came in meanwhile at once: the write's end schedules instead (flush()'s finally).
    if (this.writing) return;
    if (this.lines.length >= BATCH_ROWS && Date.now() >= this.retryAt) {
      void this.flush();
      return;
    }
    if (!this.flushTimer) {
      const now = Date.now();
      // FLUSH_MS after the oldest queued row (rows left over from a batch may already have
      // waited part of it); FLUSH_MS for open fold windows alone; never before a retry is due.
      const due = this.lines.length > 0 ? this.queuedAt[0]! + this.flushMs : now + this.flushMs;
      this.flushTimer = setTimeout(
        () => {
          this.flushTimer = null;
          void this.flush();
        },
        Math.max(0, due - now, this.retryAt - now),
      );
      this.flushTimer.unref();
    }
  }

  /** Writes everything queued now (one batch at a time). Resolves when done or failed. */
  async flush(all = false): Promise<void> {
    if (this.writing) return this.writing;
    this.closeFolds(Date.now(), all);
    if (this.lines.length === 0 && !this.hasUnreported()) {
      // Only open fold windows left: come back when they close.
      if (this.folds.size > 0) this.schedule();
      return;
    }
    this.writing = this.writeBatches(all).finally(() => {
      this.writing = null;
      // A timer set before this write counted from rows it has written: count afresh.
      if (this.flushTimer) {
        clearTimeout(this.flushTimer);
        this.flushTimer = null;
      }
      if (this.lines.length > 0 || this.folds.size > 0 || this.hasUnreported()) this.schedule();
    });
    return this.writing;
  }

  /**
   * Writes batches while one is due: a full one (BATCH_ROWS), or rows whose FLUSH_MS has
   * passed, or everything when `all` (stop, flush(true)). Rows queued while a batch was
   * being written wait for their own FLUSH_MS (schedule()) instead of following at once:
   * under a steady trickle that is one batch per FLUSH_MS, not one per round trip
   * (bench:handshake: ~50 small batches per second at 200 handshakes/s otherwise).
   */
  private async writeBatches(all: boolean): Promise<void> {
    while (this.lines.length > 0 || this.hasUnreported()) {
      // Rows stay queued until they are settled (written, or dropped and counted).
      const rows = Math.min(BATCH_ROWS, this.lines.length);
      const report = this.dropReport();
      const result = await this.insert(this.head(rows) + report.payload, rows + report.rows);
      if (result.ok) {
        this.written(rows);
        this.reported(report);
      } else if (!result.refused) {
        this.unavailable(result.error);
        return;
      } else {
        // Postgres refused something in this batch: find it, write everything else.
        if (rows > 0 && !(await this.isolate(rows, result.error))) return;
        if (report.rows > 0 && !(await this.writeReport(report))) return;
      }
      if (this.stopped && this.lines.length === 0) break;
      if (!all && !this.stopped && !this.hasUnreported() && !this.due(Date.now())) break;
    }
  }

  /** A batch is due: BATCH_ROWS rows are waiting, or the oldest has waited FLUSH_MS. */
  private due(now: number): boolean {
    if (this.lines.length === 0) return false;
    return this.lines.length >= BATCH_ROWS || now - this.queuedAt[0]! >= this.flushMs;
  }

  /** The first `rows` queued rows as one COPY payload. */
  private head(rows: number): string {
    return rows === 1 ? this.lines[0]! : this.lines.slice(0, rows).join("");
  }

  /**
   * Postgres refused the batch of the first `rows` queued rows for their data: splits it in
   * halves, recursively, left to right, writing every half it accepts, until the refused
   * rows are alone; each of those is settled by settleRefusedRow. False when Postgres became
   * unavailable meanwhile (the rows not settled yet stay at the head of the queue).
   */
  private async isolate(rows: number, error: Error): Promise<boolean> {
    this.options.logger.warn(
      { err: describeError(error), rows },
      "audit batch refused by Postgres; splitting it to isolate the refused rows",
    );
    if (rows === 1) return this.settleRefusedRow(error);
    // Segment sizes still to write, each starting at the queue head; the last one is next.
    const pending = [rows - Math.ceil(rows / 2), Math.ceil(rows / 2)];
    while (pending.length > 0) {
      const size = pending.pop()!;
      if (size === 0) continue;
      const result = await this.insert(this.head(size), size);
      if (result.ok) {
        this.written(size);
      } else if (!result.refused) {
        this.unavailable(result.error);
        return false;
      } else if (size === 1) {
        if (!(await this.settleRefusedRow(result.error))) return false;
      } else {
        const left = Math.ceil(size / 2);
        pending.push(size - left, left);
      }
    }
    return true;
  }

  /**
   * The row at the head of the queue was refused on its own: store it with every text
   * column clipped hard and the cause in its details or, if Postgres refuses that too, drop
   * it and count it with the cause. False when Postgres became unavailable meanwhile.
   */
  private async settleRefusedRow(error: Error): Promise<boolean> {
    let cause = describeError(error);
    const clipped = hardClipRow(this.lines[0]!, cause);
    if (clipped !== null) {
      const result = await this.insert(clipped, 1);
      if (result.ok) {
        this.written(1);
        this.totals.clipped += 1;
        this.options.metrics.auditRowsRefused.inc({ outcome: "clipped" });
        this.options.logger.warn({ err: cause }, "audit row refused by Postgres; stored clipped");
        return true;
      }
      if (!result.refused) {
        this.unavailable(result.error);
        return false;
      }
      cause = describeError(result.error);
    }
    const count = this.counts[0]!;
    this.settle(1);
    this.lastRefusal = cause;
    this.drop("refused", count);
    this.options.metrics.auditRowsRefused.inc({ outcome: "dropped" });
    this.options.logger.error({ err: cause, events: count }, "audit row refused by Postgres even clipped; dropped");
    return true;
  }

  /** The `dropped` rows owed now, one per cause. */
  private dropReport(): DropReport {
    const counts = { ...this.unreported };
    let payload = "";
    let rows = 0;
    for (const cause of ["queue_full", "refused"] as const) {
      if (counts[cause] === 0) continue;
      payload += encodeRow(
        this.gatewayIdText,
        droppedRecord(cause, counts[cause], this.lastRefusal),
        counts[cause],
        null,
      );
      rows += 1;
    }
    return { payload, rows, counts };
  }

  /** The `dropped` rows after a split, on their own. False when Postgres is unavailable. */
  private async writeReport(report: DropReport): Promise<boolean> {
    const result = await this.insert(report.payload, report.rows);
    if (!result.ok && !result.refused) {
      this.unavailable(result.error);
      return false;
    }
    if (!result.ok) {
      // Rows built here, bounded: only a broken table refuses them. They stay counted (metrics).
      this.options.logger.error(
        { err: describeError(result.error), dropped: report.counts },
        "the dropped-events rows were refused by Postgres; the drops stay counted in metrics only",
      );
    }
    this.reported(report);
    return true;
  }

  private reported(report: DropReport): void {
    if (report.rows === 0) return;
    this.unreported.queue_full -= report.counts.queue_full;
    this.unreported.refused -= report.counts.refused;
    this.options.metrics.auditRows.inc(report.rows);
  }

  /** The first `rows` queued rows are in Postgres. */
  private written(rows: number): void {
    const events = this.settle(rows);
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
    this.totals.written += events;
    this.totals.rows += rows;
    this.options.metrics.auditWritten.inc(events);
    this.options.metrics.auditRows.inc(rows);
  }

  /** Removes the first `rows` rows from the queue; returns how many events they stood for. */
  private settle(rows: number): number {
    this.lines.splice(0, rows);
    this.queuedAt.splice(0, rows);
    let events = 0;
    for (const c of this.counts.splice(0, rows)) events += c;
    this.options.metrics.auditQueueDepth.set(this.lines.length);
    return events;
  }

  /** Postgres is unavailable: keep everything and retry with backoff. */
  private unavailable(error: Error): void {
    this.failures += 1;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    this.retryAt = Date.now() + delay;
    this.lastError = describeError(error);
    this.options.logger.warn(
      { err: this.lastError, queued: this.lines.length, retryInMs: delay },
      "audit write failed; buffering",
    );
  }

  /**
   * One batch, one transaction, one round trip (server/audit/copy-batch.ts): the fleet-wide
   * advisory lock (commit order = id order) and a `nextval` (the id before the batch's), COPY
   * of the rows, one NOTIFY delivered at commit, `currval` (the batch's last id) and the commit,
   * as one Query sent with the COPY's data. On any error nothing was committed: the transaction
   * is rolled back (a connection that cannot even do that is discarded). `rows` is the number of
   * lines in `payload`.
   */
  private async insert(payload: string, rows: number): Promise<InsertResult> {
    let client: pg.PoolClient;
    try {
      client = await this.options.pool.connect();
    } catch (error) {
      return { ok: false, refused: false, error: error as Error };
    }
    let broken: Error | undefined;
    let ids: (() => string[]) | null = null;
    try {
      const values = await runCopyBatch(client, this.batchSql, payload);
      if (this.committedListeners.length > 0) {
        const before = BigInt(values.get("before") ?? "");
        const last = BigInt(values.get("last") ?? "");
        ids = await this.batchIds(client, before, last, rows).catch((error: Error) => {
          this.options.logger.error({ err: error.message, rows }, "ids of a committed audit batch unknown");
          return null;
        });
      }
    } catch (error) {
      await client.query("rollback").catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      return { ok: false, refused: broken === undefined && isRefusal(error), error: error as Error };
    } finally {
      client.release(broken);
    }
    if (ids) this.committed(ids, payload);
    return { ok: true };
  }

  /**
   * The ids of the committed batch's `rows` rows, ascending: (before, last] when that range
   * holds exactly `rows` values (then all of them are this batch's), else read back (ids are
   * unique; the gateway id tells ours from rows others committed in that range meanwhile).
   */
  private async batchIds(client: pg.PoolClient, before: bigint, last: bigint, rows: number): Promise<() => string[]> {
    if (last - before === BigInt(rows)) {
      return () => {
        const ids: string[] = new Array(rows);
        for (let i = 0; i < rows; i++) ids[i] = String(before + 1n + BigInt(i));
        return ids;
      };
    }
    const { rows: found } = await client.query<{ id: string }>(
      "select id::text as id from audit_event where id > $1 and id <= $2 and gateway_id = $3 order by audit_event.id",
      [String(before), String(last), clip(this.options.gatewayId, TEXT_LIMITS.gatewayId)],
    );
    const ids = found.map((r) => r.id);
    return () => ids;
  }

  private committed(ids: () => string[], payload: string): void {
    for (const listener of this.committedListeners) {
      try {
        listener({ ids, payload });
      } catch (error) {
        this.options.logger.error({ err: (error as Error).message }, "a committed-batch listener failed");
      }
    }
  }

  /** Flushes everything (fold windows included), retrying for up to `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const deadline = Date.now() + timeoutMs;
    this.closeFolds(Date.now(), true);
    while ((this.lines.length > 0 || this.hasUnreported()) && Date.now() < deadline) {
      this.retryAt = 0;
      await this.flush(true);
      if (this.lines.length > 0 || this.hasUnreported()) await new Promise((r) => setTimeout(r, 100));
    }
    this.stopped = true;
    if (this.lines.length > 0 || this.hasUnreported()) {
      const lost = this.counts.reduce((n, c) => n + c, 0);
      this.options.metrics.auditDropped.inc(lost);
      this.totals.dropped += lost;
      this.options.logger.error(
        { lost, droppedUnreported: { ...this.unreported } },
        "audit events could not be written before shutdown",
      );
    }
  }
}

/**
 * True when Postgres refused the rows themselves — SQLSTATE class 22 (data exception), 23
 * (integrity constraint violation) or 54000 (program limit, e.g. an index entry too large)
 * — rather than being unavailable. Anything else (no SQLSTATE: a network error; 08
 * connection, 57 shutdown, 53 resources, 42 a missing table or privilege) concerns every
 * row alike and is retried, never split.
 */
export function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return code.startsWith("22") || code.startsWith("23") || code === "54000";
}

/** `<SQLSTATE> <message>`, bounded: for logs, the admin health and `dropped` rows. */
function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return clip(typeof code === "string" ? `${code} ${message}` : message, MAX_ERROR_TEXT) as string;
}

/** A `dropped` row (SPEC §6): no decision, no reason; the cause in its details. */
function droppedRecord(cause: DropCause, count: number, refusal: string | null): AuditEventInput {
  return {
    ts: Date.now(),
    kind: "dropped",
    tenant: null,
    decision: null,
    reason: null,
    origin: null,
    originNormalized: null,
    remoteAddr: null,
    userAgent: null,
    path: null,
    subprotocol: null,
    policyVersion: null,
    matchedPattern: null,
    count,
    details:
      cause === "queue_full"
        ? { cause, note: "the in-memory audit buffer was full while Postgres was unavailable or too slow" }
        : { cause, error: refusal, note: "Postgres refused these rows even with every text column clipped" },
  };
}
