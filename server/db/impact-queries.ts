/**
 * What the impact preview and the entry usage read (SPEC §5.2, issue "safe change"): the
 * distinct replayable handshakes of a tenant in a window, and each allowlist entry's matches.
 *
 * Both read the audit summary's rollups (audit_replay per hour, audit_pattern_hit per day;
 * server/audit/summary.ts) up to its watermark and audit_event for the few events after it,
 * in one snapshot (withSummaryWatermark): exact, and a preview costs the number of distinct
 * tuples in the window, not the number of events. The window's start is aligned down to the
 * rollups' bucket (a UTC day; day buckets keep a week's rollup to 7 x the distinct tuples of
 * a day, where hours made it 168 x) and returned, so callers say what was read.
 */
import { decodeOfferedSubprotocols, type ReplayTuple, TOKEN_STATES, type TokenState } from "../policy";
import { PATTERN_HIT_SQL, type Queryable, REPLAYABLE_SQL, withSummaryWatermark } from "./audit-queries";

const DAY_MS = 86_400_000;

export interface ReplayWindow {
  /** Aligned down to the UTC day. */
  since: Date;
  until: Date;
  tuples: ReplayTuple[];
}

/** The distinct replayable handshakes of `tenant` in [since aligned to the UTC day, until), with counts. */
export async function readReplayTuples(
  db: Queryable,
  options: { tenant: string; since: Date; until: Date },
): Promise<ReplayWindow> {
  const since = new Date(Math.floor(options.since.getTime() / DAY_MS) * DAY_MS);
  const until = options.until;
  const tuples = await withSummaryWatermark(db, async (q, watermark) => {
    // A short aggregate the planner may cost high: JIT compilation would cost more than it saves.
    await q.query("set local jit = off");
    const { rows } = await q.query<{
      has_origin: boolean;
      origin: string;
      credentials: boolean;
      token_state: string;
      subprotocols: string;
      count: string;
    }>(
      `select has_origin, origin, credentials, token_state, subprotocols, sum(count)::text as count from (
         select has_origin, origin, credentials, token_state, subprotocols, count
           from audit_replay where tenant = $1 and bucket >= $2 and bucket < $3
         union all
         select origin is not null, coalesce(origin, ''), credentials, token_state, coalesce(offered_subprotocols, ''), count
           from audit_event
          where id > $4::bigint and ts >= $2 and ts < $3 and tenant = $1 and ${REPLAYABLE_SQL}
       ) as t
       group by 1, 2, 3, 4, 5`,
      [options.tenant, since, until, watermark],
    );
    return rows;
  });
  return {
    since,
    until,
    tuples: tuples.map((row) => ({
      origin: row.has_origin ? row.origin : null,
      credentials: row.credentials,
      // A state this version does not know is replayed as an invalid token (fail closed).
      tokenState: (TOKEN_STATES as readonly string[]).includes(row.token_state)
        ? (row.token_state as TokenState)
        : "invalid",
      subprotocols: decodeOfferedSubprotocols(row.subprotocols),
      count: Number(row.count),
    })),
  };
}

export interface PatternUsage {
  pattern: string;
  /** Matches in the window. */
  hits: number;
  /** The last match in the kept history (null: none). */
  lastMatch: Date | null;
}

/** Each matched pattern of `tenant`: matches since `since` (aligned to the UTC day) and its last match ever kept. */
export async function readPatternUsage(
  db: Queryable,
  options: { tenant: string; since: Date },
): Promise<{ since: Date; usage: PatternUsage[] }> {
  const since = new Date(Math.floor(options.since.getTime() / DAY_MS) * DAY_MS);
  const rows = await withSummaryWatermark(db, async (q, watermark) => {
    const { rows } = await q.query<{ pattern: string; hits: string; last_seen: Date | null }>(
      `select pattern, coalesce(sum(count) filter (where bucket >= $2), 0)::text as hits, max(last_seen) as last_seen from (
         select pattern, bucket, count, last_seen from audit_pattern_hit where tenant = $1
         union all
         select matched_pattern, ts, count, coalesce(last_ts, ts)
           from audit_event where id > $3::bigint and tenant = $1 and ${PATTERN_HIT_SQL}
       ) as t
       group by 1`,
      [options.tenant, since, watermark],
    );
    return rows;
  });
  return {
    since,
    usage: rows.map((row) => ({ pattern: row.pattern, hits: Number(row.hits), lastMatch: row.last_seen })),
  };
}
