/**
 * The SIEM export of one gateway (SPEC §6): every audit batch this gateway commits is
 * streamed to every enabled SIEM destination, after the commit.
 *
 * Which process exports what: each gateway exports exactly the rows it wrote itself, from its
 * audit pipeline's commit (AuditPipeline.onCommitted, with the ids Postgres assigned). So
 * nothing is exported before it is durable, nothing is exported twice by two gateways, and no
 * gateway reads the table back for it. Per destination, events leave in commit (id) order;
 * across gateways they interleave (a receiver orders by `ts` or `id`). The dashboard exports
 * nothing (it writes no audit rows).
 *
 * Destinations (`siem_destination`, registered by admins through /api/v1/siem-destinations)
 * are read at start and every `reloadMs`; a new one gets the events committed from then on,
 * a changed one (URL, secret) is replaced, a disabled or removed one is stopped (what it still
 * held is counted as dropped). Batches committed before the first load are held (bounded by
 * `queueMax` rows) and exported once the destinations are known, so a gateway's first events
 * are not missed.
 *
 * Accounting (per destination, siem-sink.ts): a bounded queue, events beyond it dropped,
 * counted (origingate_siem_events_dropped_total, /healthz `siem`) and announced to the
 * destination with a gap notice. health() sums the destinations: `off` (none), `ok`,
 * `buffering`, `dropping` (the worst of them).
 */
import { hostname } from "node:os";
import type pg from "pg";
import type { Metrics } from "../admin/metrics";
import type { AuditPipeline } from "../audit/pipeline";
import type { Logger } from "../log";
import type { Resolver } from "../net/pinned-lookup";
import type { SecretBox } from "../secrets/secret-box";
import { openDestinationSecret } from "./destination-secret";
import { decodeCommittedBatch } from "./exported-event";
import type { SiemDestinationConfig, SiemSink, SinkHealth, SinkHealthDetail, SinkOptions } from "./siem-sink";
import { SyslogSink } from "./syslog-sink";
import { WebhookSink } from "./webhook-sink";

export const DEFAULT_SIEM_QUEUE_MAX = 50_000;
const DEFAULT_RELOAD_MS = 5000;
const STOP_TIMEOUT_MS = 3000;

export type SiemStatus = "off" | "ok" | "buffering" | "dropping";

export interface SiemHealth {
  status: SiemStatus;
  destinations: number;
  queueDepth: number;
  dropped: number;
}

export interface SiemHealthDetail extends SiemHealth {
  perDestination: SinkHealthDetail[];
}

export interface SiemExporterOptions {
  pool: pg.Pool;
  gatewayId: string;
  logger: Logger;
  metrics: Metrics;
  secrets: SecretBox | null;
  /** Events held per destination (SIEM_QUEUE_MAX). */
  queueMax?: number;
  reloadMs?: number;
  /** Longest wait between delivery attempts to a failing destination (default 30 s). */
  backoffMaxMs?: number;
  /** DNS for destination names (tests); the system resolver by default. */
  resolver?: Resolver;
}

interface DestinationRow {
  id: string;
  name: string;
  kind: "syslog" | "webhook";
  url: string;
  secret: string | null;
}

const RANK: Record<SiemStatus, number> = { off: 0, ok: 1, buffering: 2, dropping: 3 };

export class SiemExporter {
  private readonly sinks = new Map<string, { sink: SiemSink; fingerprint: string }>();
  /** Batches committed before the destinations were first loaded. */
  private early: Array<{ ids: string[]; payload: string }> | null = [];
  private earlyRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<void> | null = null;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  /** Dropped totals of destinations stopped since start (health keeps counting them). */
  private droppedByStopped = 0;
  private readonly host = hostname();
  readonly queueMax: number;

  constructor(
    pipeline: Pick<AuditPipeline, "onCommitted">,
    private readonly options: SiemExporterOptions,
  ) {
    this.queueMax = options.queueMax ?? DEFAULT_SIEM_QUEUE_MAX;
    this.unsubscribe = pipeline.onCommitted((batch) => this.exportBatch(batch));
  }

  /** Loads the destinations now and then every reloadMs. */
  start(): void {
    void this.reload();
    this.timer = setInterval(() => void this.reload(), this.options.reloadMs ?? DEFAULT_RELOAD_MS);
    this.timer.unref();
  }

  /** Reads the destinations again now (tests; the timer does it every reloadMs). */
  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private exportBatch(batch: { ids(): string[]; payload: string }): void {
    if (this.early) {
      const ids = batch.ids();
      if (this.earlyRows + ids.length <= this.queueMax) {
        this.early.push({ ids, payload: batch.payload });
        this.earlyRows += ids.length;
      }
      return;
    }
    if (this.sinks.size === 0) return;
    this.dispatch(batch.ids(), batch.payload);
  }

  private dispatch(ids: string[], payload: string): void {
    const events = decodeCommittedBatch(ids, payload);
    const decoded = events.filter((e) => e !== null);
    if (decoded.length < events.length) {
      this.options.logger.error(
        { undecodable: events.length - decoded.length },
        "audit rows the SIEM export cannot read",
      );
    }
    for (const { sink } of this.sinks.values()) sink.enqueue(decoded);
  }

  private async load(): Promise<void> {
    if (this.stopped) return;
    let rows: DestinationRow[];
    try {
      ({ rows } = await this.options.pool.query<DestinationRow>(
        "select id, name, kind::text as kind, url, secret from siem_destination where enabled order by name",
      ));
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, "SIEM destinations could not be read; will retry");
      return;
    }
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      const config = this.configOf(row);
      const fingerprint = JSON.stringify(config);
      const current = this.sinks.get(row.id);
      if (current?.fingerprint === fingerprint) continue;
      if (current) await this.retire(row.id, current.sink);
      this.sinks.set(row.id, { sink: this.createSink(config), fingerprint });
      this.options.logger.info({ destination: row.name, kind: row.kind }, "SIEM destination active");
    }
    for (const [id, { sink }] of this.sinks) if (!seen.has(id)) await this.retire(id, sink);
    if (this.early) {
      const early = this.early;
      this.early = null;
      this.earlyRows = 0;
      if (this.sinks.size > 0) for (const batch of early) this.dispatch(batch.ids, batch.payload);
    }
  }

  private configOf(row: DestinationRow): SiemDestinationConfig {
    let secret: string | null = null;
    if (row.kind === "webhook" && row.secret !== null) {
      try {
        secret = openDestinationSecret(this.options.secrets, row.id, row.secret);
      } catch (error) {
        // Deliveries fail (nothing is sent unsigned) and say why in health; events buffer, then drop counted.
        this.options.logger.error(
          { destination: row.name, err: (error as Error).message },
          "SIEM webhook secret cannot be opened",
        );
      }
    }
    return { id: row.id, name: row.name, kind: row.kind, url: row.url, secret };
  }

  private createSink(config: SiemDestinationConfig): SiemSink {
    const options: SinkOptions = {
      gatewayId: this.options.gatewayId,
      host: this.host,
      logger: this.options.logger,
      metrics: this.options.metrics,
      queueMax: this.queueMax,
      backoffMaxMs: this.options.backoffMaxMs,
    };
    return config.kind === "syslog"
      ? new SyslogSink(config, options, this.options.resolver)
      : new WebhookSink(config, options, this.options.resolver);
  }

  private async retire(id: string, sink: SiemSink): Promise<void> {
    this.sinks.delete(id);
    await sink.stop(0);
    this.droppedByStopped += sink.totals.dropped;
    this.options.logger.info({ destination: sink.config.name }, "SIEM destination stopped");
  }

  health(now = Date.now()): SiemHealth {
    let status: SiemStatus = this.sinks.size === 0 ? "off" : "ok";
    let queueDepth = 0;
    let dropped = this.droppedByStopped;
    for (const { sink } of this.sinks.values()) {
      const h: SinkHealth = sink.health(now);
      if (RANK[h.status] > RANK[status]) status = h.status;
      queueDepth += h.queueDepth;
      dropped += h.dropped;
    }
    return { status, destinations: this.sinks.size, queueDepth, dropped };
  }

  healthDetail(now = Date.now()): SiemHealthDetail {
    return { ...this.health(now), perDestination: [...this.sinks.values()].map(({ sink }) => sink.healthDetail(now)) };
  }

  /** Stops reloading and gives every destination up to STOP_TIMEOUT_MS to take what it holds. */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.loading;
    await Promise.all([...this.sinks.values()].map(({ sink }) => sink.stop(timeoutMs)));
    this.sinks.clear();
  }
}
