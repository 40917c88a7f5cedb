/**
 * The gateway's row in `gateway_instance`: written at start, refreshed on every heartbeat
 * with the versions it enforces, marked stopped on graceful shutdown. The dashboard's fleet
 * view reads these rows. A failed heartbeat (Postgres down) is logged and retried on the
 * next tick; it never affects enforcement.
 */
import { hostname } from "node:os";
import type { Queryable } from "../db/pg-listener";
import type { Logger } from "../log";

export interface InstanceRecorderOptions {
  /** The LISTEN connection while it is up, else the pool (the heartbeat needs no connection of its own). */
  db: Queryable;
  gatewayId: string;
  intervalMs: number;
  logger: Logger;
  /** GATEWAY_LABELS, published for the fleet view. */
  labels?: readonly string[];
  /** Current state to publish on each beat. */
  snapshot(): {
    enforcedVersions: Record<string, number>;
    stagedVersions?: Record<string, unknown>;
    status: string;
    auditStatus?: string;
  };
}

export class InstanceRecorder {
  private timer: NodeJS.Timeout | null = null;
  readonly host = hostname();
  lastBeatAt: number | null = null;

  constructor(private readonly options: InstanceRecorderOptions) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    const { enforcedVersions, stagedVersions, status, auditStatus = "ok" } = this.options.snapshot();
    try {
      await this.options.db.query(
        `insert into gateway_instance (id, host, pid, started_at, last_heartbeat_at, enforced_versions, status, audit_status,
                                       stopped_at, staged_versions, labels)
         values ($1, $2, $3, now(), now(), $4, $5, $6, null, $7, $8)
         on conflict (id) do update set last_heartbeat_at = now(), enforced_versions = excluded.enforced_versions,
                                        status = excluded.status, audit_status = excluded.audit_status,
                                        host = excluded.host, pid = excluded.pid,
                                        stopped_at = null, staged_versions = excluded.staged_versions,
                                        labels = excluded.labels`,
        [
          this.options.gatewayId,
          this.host,
          process.pid,
          JSON.stringify(enforcedVersions),
          status,
          auditStatus,
          JSON.stringify(stagedVersions ?? {}),
          [...(this.options.labels ?? [])],
        ],
      );
      this.lastBeatAt = Date.now();
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, "heartbeat failed");
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.options.db
      .query("update gateway_instance set stopped_at = now(), last_heartbeat_at = now() where id = $1", [
        this.options.gatewayId,
      ])
      .catch(() => {});
  }
}
