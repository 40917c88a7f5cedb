/**
 * Upkeep of the partitioned `audit_event` table (SPEC §6): one partition per UTC day,
 * created ahead; whole partitions dropped after the retention; a default partition for
 * timestamps outside every partition, kept small.
 *
 * `maintainAuditPartitions()` does one pass, in this order:
 *  1. takes a session advisory lock with pg_try_advisory_lock: one process at a time in the
 *     whole fleet; a process that does not get it skips the pass (someone else is doing it);
 *  2. creates the partitions of yesterday, today and AHEAD_DAYS days ahead, and of every day
 *     inside the kept window that has rows in the default partition (those rows move into
 *     their day's partition: `audit_event_create_partition(day)`, the migration's one
 *     definition of a day's partition);
 *  3. drops every partition whose whole range is older than the retention (`now -
 *     retentionDays`): DROP TABLE of the partition, never a DELETE of rows;
 *  4. the default partition is trimmed the same way, by replacing it: when it holds rows older
 *     than the retention (a gateway clock far behind, rows from before the conversion), a new
 *     default partition takes the rows that are still kept (timestamps further ahead than the
 *     created partitions) and the old one is dropped whole;
 *  5. the audit summary's rows older than the retention are deleted (small derived tables,
 *     server/audit/summary.ts; audit_event itself is never DELETEd from).
 * Every statement that needs a lock on the table waits at most LOCK_TIMEOUT (a long export
 * holding the table must not make audit writes queue behind a DROP); what could not be done
 * is retried on the next pass. Each step is its own transaction.
 *
 * Lifecycle: the gateway runs a pass at start and every MAINTENANCE_INTERVAL_MS
 * (`AuditPartitionKeeper`); `npm run ctl -- audit:partitions` runs one by hand.
 */
import type pg from "pg";
import type { Logger } from "../log";
import { expireAuditSummary } from "./summary";

/** Arbitrary constant: the advisory lock of partition upkeep (distinct from the audit writer's). */
export const AUDIT_PARTITION_LOCK_KEY = 0x0a0d18;
/** Partitions exist this many days ahead of today (UTC). */
export const AHEAD_DAYS = 7;
export const DEFAULT_RETENTION_DAYS = 30;
export const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;
/** After a failed pass (Postgres away, a lock not granted in time). */
const RETRY_MS = 60 * 1000;
const LOCK_TIMEOUT = "1s";
const DAY_MS = 86_400_000;
const DEFAULT_PARTITION = "audit_event_default";

export interface PartitionPass {
  /** False when another process held the lock (nothing was done). */
  ran: boolean;
  created: string[];
  dropped: string[];
  /** Rows older than the retention removed with the replaced default partition. */
  defaultRowsExpired: number;
  /** Steps that failed (lock timeout, …): retried on the next pass. */
  errors: string[];
}

export interface AuditPartition {
  name: string;
  /** Epoch ms; null for the default partition. */
  from: number | null;
  to: number | null;
}

/** The partitions of audit_event with their bounds (the default one with null bounds). */
export async function listAuditPartitions(db: pg.ClientBase | pg.Pool): Promise<AuditPartition[]> {
  const { rows } = await db.query<{ name: string; bound: string; lo: Date | null; hi: Date | null }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound,
            nullif(substring(pg_get_expr(c.relpartbound, c.oid) from $$FROM \\('([^']+)'\\)$$), '')::timestamptz as lo,
            nullif(substring(pg_get_expr(c.relpartbound, c.oid) from $$TO \\('([^']+)'\\)$$), '')::timestamptz as hi
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'audit_event'::regclass
      order by lo nulls first`,
  );
  return rows.map((r) => ({ name: r.name, from: r.lo?.getTime() ?? null, to: r.hi?.getTime() ?? null }));
}

/** `YYYY-MM-DD` of a UTC day. */
function utcDay(epochMs: number): string {
  return new Date(Math.floor(epochMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

export async function maintainAuditPartitions(options: {
  pool: pg.Pool;
  retentionDays: number;
  logger?: Logger;
  /** The clock (tests move it); default: Postgres' now(). */
  now?: Date;
}): Promise<PartitionPass> {
  const pass: PartitionPass = { ran: false, created: [], dropped: [], defaultRowsExpired: 0, errors: [] };
  const client = await options.pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean; now: Date }>(
      "select pg_try_advisory_lock($1) as locked, now() as now",
      [AUDIT_PARTITION_LOCK_KEY],
    );
    if (!rows[0]?.locked) return pass;
    pass.ran = true;
    try {
      await client.query(`set lock_timeout = '${LOCK_TIMEOUT}'`);
      const now = (options.now ?? rows[0].now).getTime();
      const cutoff = now - options.retentionDays * DAY_MS;
      const today = Math.floor(now / DAY_MS) * DAY_MS;
      const windowEnd = today + (AHEAD_DAYS + 1) * DAY_MS;
      const step = async (what: string, run: () => Promise<void>) => {
        try {
          await run();
        } catch (error) {
          pass.errors.push(`${what}: ${(error as Error).message}`);
          await client.query("rollback").catch(() => {});
        }
      };

      // 2. Partitions ahead, and for the kept days that have rows in the default partition.
      const days = new Set<string>();
      for (let day = today - DAY_MS; day < windowEnd; day += DAY_MS) days.add(utcDay(day));
      const strays = await client.query<{ day: string }>(
        `select distinct to_char(ts at time zone 'UTC', 'YYYY-MM-DD') as day from ${DEFAULT_PARTITION}
          where ts >= $1 and ts < $2`,
        [new Date(Math.floor(cutoff / DAY_MS) * DAY_MS), new Date(windowEnd)],
      );
      for (const row of strays.rows) days.add(row.day);
      for (const day of [...days].sort()) {
        await step(`create partition ${day}`, async () => {
          const { rows: made } = await client.query<{ name: string | null }>(
            "select audit_event_create_partition($1::date) as name",
            [day],
          );
          if (made[0]?.name) pass.created.push(made[0].name);
        });
      }

      // 3. Whole partitions past the retention.
      for (const partition of await listAuditPartitions(client)) {
        if (partition.to === null || partition.to > cutoff) continue;
        await step(`drop partition ${partition.name}`, async () => {
          await client.query(`drop table ${client.escapeIdentifier(partition.name)}`);
          pass.dropped.push(partition.name);
        });
      }

      // 4. The default partition, replaced when it holds expired rows.
      await step("trim the default partition", async () => {
        pass.defaultRowsExpired = await replaceDefaultPartition(client, new Date(cutoff));
      });
      await step("expire the audit summary", () => expireAuditSummary(client, new Date(cutoff)));
    } finally {
      await client
        .query("reset lock_timeout; select pg_advisory_unlock($1)", [AUDIT_PARTITION_LOCK_KEY])
        .catch((error: Error) => {
          broken = error; // a session that cannot unlock must not go back to the pool
        });
    }
    if (pass.created.length + pass.dropped.length + pass.defaultRowsExpired + pass.errors.length > 0) {
      options.logger?.info(
        {
          created: pass.created,
          dropped: pass.dropped,
          defaultRowsExpired: pass.defaultRowsExpired,
          errors: pass.errors,
        },
        "audit partitions maintained",
      );
    }
    return pass;
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * When the default partition holds rows older than `cutoff`, replaces it by a new one holding
 * only its rows from `cutoff` on, and drops the old one whole. Returns the rows that went.
 */
async function replaceDefaultPartition(client: pg.PoolClient, cutoff: Date): Promise<number> {
  await client.query("begin");
  try {
    await client.query(`lock table ${DEFAULT_PARTITION} in access exclusive mode`);
    const { rows } = await client.query<{ n: string }>(
      `select count(*)::text as n from ${DEFAULT_PARTITION} where ts < $1`,
      [cutoff],
    );
    const expired = Number(rows[0]?.n ?? 0);
    if (expired === 0) {
      await client.query("rollback");
      return 0;
    }
    const { rows: colRows } = await client.query<{ cols: string }>(
      `select string_agg(quote_ident(attname), ', ' order by attnum) as cols from pg_attribute
        where attrelid = 'audit_event'::regclass and attnum > 0 and not attisdropped`,
    );
    const cols = colRows[0]!.cols;
    const next = `${DEFAULT_PARTITION}_next`;
    await client.query(`create table ${next} (like audit_event including defaults including constraints)`);
    await client.query(`insert into ${next} (${cols}) select ${cols} from ${DEFAULT_PARTITION} where ts >= $1`, [
      cutoff,
    ]);
    await client.query(`alter table audit_event detach partition ${DEFAULT_PARTITION}`);
    await client.query(`drop table ${DEFAULT_PARTITION}`);
    await client.query(`alter table ${next} rename to ${DEFAULT_PARTITION}`);
    await client.query(`alter table audit_event attach partition ${DEFAULT_PARTITION} default`);
    await client.query("commit");
    return expired;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  }
}

/**
 * Runs a pass at start and then every `intervalMs` (default MAINTENANCE_INTERVAL_MS); after a
 * pass that failed or left a step undone, the next one comes after RETRY_MS instead. Never
 * two passes at once in one process.
 */
export class AuditPartitionKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PartitionPass | null> | null = null;
  private stopped = false;

  constructor(
    private readonly options: { pool: pg.Pool; retentionDays: number; logger: Logger; intervalMs?: number },
  ) {}

  start(): void {
    void this.tick();
  }

  private async tick(): Promise<void> {
    const pass = await this.runOnce();
    if (this.stopped) return;
    const retry = pass === null || pass.errors.length > 0;
    this.timer = setTimeout(
      () => void this.tick(),
      retry ? RETRY_MS : (this.options.intervalMs ?? MAINTENANCE_INTERVAL_MS),
    );
    this.timer.unref();
  }

  /** One pass now (or the one in progress). Failures are logged, never thrown: the next pass retries. */
  runOnce(): Promise<PartitionPass | null> {
    this.running ??= maintainAuditPartitions(this.options)
      .catch((error: unknown) => {
        this.options.logger.warn({ err: (error as Error).message }, "audit partition upkeep failed; will retry");
        return null;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
