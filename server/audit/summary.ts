/**
 * The audit summary: what the overview and origin search read instead of scanning millions of
 * events (SPEC §6 "history stays fast at tens of millions of rows").
 *
 *  - audit_count: events per 5-minute bucket, tenant, kind and decision (and all tenants);
 *  - audit_rejected_origin: refused handshakes and HTTP requests per hour, tenant and origin
 *    (with their reasons);
 *  - audit_origin: every origin seen, with when it was last seen (trigram-indexed);
 *  - audit_user_agent: every user agent seen, likewise (the history's user-agent filter);
 *  - audit_replay: the replayable handshakes per UTC day, tenant, origin and offered
 *    subprotocols, counted by credentials x token state, with their total and which counts
 *    are positive (the impact preview's input, server/db/impact-queries.ts);
 *  - audit_pattern_hit: matches per allowlist entry, tenant and day (entry usage).
 *
 * The tester's own handshakes (via = 'tester') are left out of the two statistics tables: a
 * scan is hundreds of refusals nobody needs to act on. Readers that are asked to include them
 * read them from audit_event (server/db/audit-queries.ts: TESTER_VIA); their origins and user
 * agents are still searchable (audit_origin, audit_user_agent).
 *
 * Exact at every moment, without a write on the audit hot path: the summary covers exactly
 * the events with id <= audit_summary_state.last_id (the watermark), and every reader adds the
 * events after the watermark from audit_event itself (a handful: seconds of traffic). The
 * watermark only moves over committed ids: audit batches commit in id order (the writer's
 * advisory lock, server/audit/pipeline.ts), so once max(id) is visible no smaller id can
 * commit later — each event is summarized exactly once.
 *
 * summarizeAudit() is one pass: under a transaction-scoped advisory lock (one process at a
 * time; the others skip), it reads the events after the watermark (at most MAX_ROWS per
 * transaction, repeated while there are more, within PASS_BUDGET_MS), upserts the three tables
 * and moves the watermark, all in one transaction. Gateways run a pass every SUMMARY_INTERVAL_MS
 * (AuditSummaryKeeper). The summary's old rows go with the partitions (retention, partitions.ts).
 */
import type pg from "pg";
import { DECIDED_KINDS_SQL, ORIGIN_EXPRESSION, PATTERN_HIT_SQL, REPLAYABLE_SQL } from "../db/audit-queries";
import { REPLAY_COUNTS_SQL, REPLAY_TOTAL_SQL, REPLAY_VARIANTS_SQL } from "../db/impact-queries";
import type { Logger } from "../log";

/** Arbitrary constant: the advisory lock of summary passes. */
export const AUDIT_SUMMARY_LOCK_KEY = 0x0a0d19;
export const SUMMARY_INTERVAL_MS = 5000;
const MAX_ROWS = 200_000;
const PASS_BUDGET_MS = 2000;

const SUMMARIZE = `
with batch as materialized (
  select ts, last_ts, coalesce(tenant, '') as tenant, kind, decision, reason, ${ORIGIN_EXPRESSION} as origin, count,
         user_agent, via, via = 'tester' as tester, origin as origin_as_sent, credentials, token_state, offered_subprotocols,
         matched_pattern
    from audit_event where id > $1 and id <= $2
), per_tenant as (
  insert into audit_count (all_tenants, tenant, bucket, kind, decision, count)
  select false, tenant, date_bin('5 minutes', ts, 'epoch'), kind, decision, sum(count)
    from batch where decision is not null and not tester group by 2, 3, 4, 5
  on conflict (all_tenants, tenant, bucket, kind, decision) do update set count = audit_count.count + excluded.count
  returning 1
), all_tenants as (
  insert into audit_count (all_tenants, tenant, bucket, kind, decision, count)
  select true, '', date_bin('5 minutes', ts, 'epoch'), kind, decision, sum(count)
    from batch where decision is not null and not tester group by 3, 4, 5
  on conflict (all_tenants, tenant, bucket, kind, decision) do update set count = audit_count.count + excluded.count
  returning 1
), rejected as (
  insert into audit_rejected_origin (tenant, origin, bucket, count, last_seen, reasons)
  select tenant, coalesce(origin, '(none)'), date_bin('1 hour', ts, 'epoch'), sum(count), max(coalesce(last_ts, ts)),
         array_agg(distinct coalesce(reason, '') order by coalesce(reason, ''))
    from batch where decision = 'rejected' and ${DECIDED_KINDS_SQL} and not tester group by 1, 2, 3
  on conflict (tenant, origin, bucket) do update
    set count = audit_rejected_origin.count + excluded.count,
        last_seen = greatest(audit_rejected_origin.last_seen, excluded.last_seen),
        reasons = (select array_agg(distinct r order by r) from unnest(audit_rejected_origin.reasons || excluded.reasons) as r)
  returning 1
), origins as (
  insert into audit_origin (origin, last_seen, events)
  select origin, max(coalesce(last_ts, ts)), sum(count) from batch where origin is not null group by 1
  on conflict (origin) do update
    set last_seen = greatest(audit_origin.last_seen, excluded.last_seen), events = audit_origin.events + excluded.events
  returning 1
), user_agents as (
  insert into audit_user_agent (user_agent, last_seen, events)
  select user_agent, max(coalesce(last_ts, ts)), sum(count) from batch where user_agent is not null group by 1
  on conflict (user_agent) do update
    set last_seen = greatest(audit_user_agent.last_seen, excluded.last_seen),
        events = audit_user_agent.events + excluded.events
  returning 1
)
, replay as (
  insert into audit_replay (tenant, bucket, has_origin, origin, subprotocols, token_none, token_valid, token_invalid,
                            cred_token_none, cred_token_valid, cred_token_invalid, total, variants, last_seen)
  select tenant, bucket, has_origin, origin, subprotocols, n0, n1, n2, n3, n4, n5, ${REPLAY_TOTAL_SQL},
         ${REPLAY_VARIANTS_SQL}, last_seen
    from (
      select tenant, date_bin('1 day', ts, 'epoch') as bucket, origin_as_sent is not null as has_origin,
             coalesce(origin_as_sent, '') as origin, coalesce(offered_subprotocols, '') as subprotocols,
             ${REPLAY_COUNTS_SQL}, max(coalesce(last_ts, ts)) as last_seen
        from batch where ${REPLAYABLE_SQL} group by 1, 2, 3, 4, 5
    ) as folded
  on conflict (tenant, bucket, has_origin, origin, subprotocols) do update
    set token_none = audit_replay.token_none + excluded.token_none,
        token_valid = audit_replay.token_valid + excluded.token_valid,
        token_invalid = audit_replay.token_invalid + excluded.token_invalid,
        cred_token_none = audit_replay.cred_token_none + excluded.cred_token_none,
        cred_token_valid = audit_replay.cred_token_valid + excluded.cred_token_valid,
        cred_token_invalid = audit_replay.cred_token_invalid + excluded.cred_token_invalid,
        total = audit_replay.total + excluded.total,
        variants = audit_replay.variants | excluded.variants,
        last_seen = greatest(audit_replay.last_seen, excluded.last_seen)
  returning 1
), hits as (
  insert into audit_pattern_hit (tenant, pattern, bucket, count, last_seen)
  select tenant, matched_pattern, date_bin('1 day', ts, 'epoch'), sum(count), max(coalesce(last_ts, ts))
    from batch where ${PATTERN_HIT_SQL} group by 1, 2, 3
  on conflict (tenant, pattern, bucket) do update
    set count = audit_pattern_hit.count + excluded.count, last_seen = greatest(audit_pattern_hit.last_seen, excluded.last_seen)
  returning 1
)
select (select count(*) from batch)::int as rows,
       (select count(*) from per_tenant) + (select count(*) from all_tenants)
     + (select count(*) from rejected) + (select count(*) from origins) + (select count(*) from user_agents)
     + (select count(*) from replay) + (select count(*) from hits) as upserts`;

export interface SummaryPass {
  /** False when another process held the lock. */
  ran: boolean;
  /** Events summarized in this pass. */
  rows: number;
  /** The watermark after the pass. */
  lastId: string;
  /** True when events after the watermark remain (the budget ran out). */
  behind: boolean;
}

export async function summarizeAudit(options: {
  pool: pg.Pool;
  maxRows?: number;
  budgetMs?: number;
}): Promise<SummaryPass> {
  const started = Date.now();
  const pass: SummaryPass = { ran: false, rows: 0, lastId: "0", behind: false };
  for (;;) {
    const client = await options.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("begin");
      const { rows: lock } = await client.query<{ locked: boolean }>("select pg_try_advisory_xact_lock($1) as locked", [
        AUDIT_SUMMARY_LOCK_KEY,
      ]);
      if (!lock[0]?.locked) {
        await client.query("rollback");
        return pass;
      }
      pass.ran = true;
      const { rows: state } = await client.query<{ last_id: string; max_id: string | null }>(
        `select last_id::text, (select max(id) from audit_event)::text as max_id
           from audit_summary_state where id = 1 for update`,
      );
      const from = BigInt(state[0]?.last_id ?? "0");
      const max = BigInt(state[0]?.max_id ?? "0");
      const to = max - from > BigInt(options.maxRows ?? MAX_ROWS) ? from + BigInt(options.maxRows ?? MAX_ROWS) : max;
      if (to <= from) {
        await client.query("rollback");
        pass.lastId = String(from);
        return pass;
      }
      const { rows: done } = await client.query<{ rows: number }>(SUMMARIZE, [String(from), String(to)]);
      await client.query("update audit_summary_state set last_id = $1, updated_at = now() where id = 1", [String(to)]);
      await client.query("commit");
      pass.rows += done[0]?.rows ?? 0;
      pass.lastId = String(to);
      pass.behind = to < max;
      if (!pass.behind || Date.now() - started > (options.budgetMs ?? PASS_BUDGET_MS)) return pass;
    } catch (error) {
      await client.query("rollback").catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** Deletes summary rows of buckets (and origins last seen) before `cutoff`: the retention of the summary. */
export async function expireAuditSummary(db: pg.Pool | pg.PoolClient, cutoff: Date): Promise<void> {
  await db.query("delete from audit_count where bucket < $1", [cutoff]);
  await db.query("delete from audit_rejected_origin where bucket < $1", [cutoff]);
  await db.query("delete from audit_origin where last_seen < $1", [cutoff]);
  await db.query("delete from audit_user_agent where last_seen < $1", [cutoff]);
  await db.query("delete from audit_replay where bucket < $1", [cutoff]);
  await db.query("delete from audit_pattern_hit where bucket < $1", [cutoff]);
}

/** A pass every `intervalMs` (never two at once in one process); failures are logged and retried. */
export class AuditSummaryKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: { pool: pg.Pool; logger: Logger; intervalMs?: number }) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs ?? SUMMARY_INTERVAL_MS);
    this.timer.unref();
  }

  runOnce(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= summarizeAudit({ pool: this.options.pool })
      .then((pass) => {
        if (pass.behind)
          this.options.logger.info({ lastId: pass.lastId }, "audit summary behind; continuing next pass");
      })
      .catch((error: unknown) => {
        this.options.logger.warn({ err: (error as Error).message }, "audit summary pass failed; will retry");
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
