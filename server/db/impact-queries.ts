/**
 * What the impact preview and the entry usage read (SPEC §5.2, issue "safe change"): the
 * replayable handshakes of a tenant in a window, and each allowlist entry's matches.
 *
 * Both read the audit summary's rollups (audit_replay and audit_pattern_hit per UTC day;
 * server/audit/summary.ts) up to its watermark and audit_event for the few events after it,
 * in one snapshot (withSummaryWatermark): exact, and a preview costs the number of distinct
 * (origin, subprotocols) pairs in the window, not the number of events. The window's start
 * is aligned down to the rollups' bucket (a UTC day) and returned, so callers say what was read.
 *
 * audit_replay folds the credentials x token-state variants of an (origin, subprotocols) pair
 * into six count columns of one row (ReplayGroup), so a window aggregates up to 6x fewer rows
 * than one row per tuple, and the replay decides the long tail of refused origins per group.
 */
import { decodeOfferedSubprotocols, type ReplayGroup } from "../policy";
import { PATTERN_HIT_SQL, type Queryable, REPLAYABLE_SQL, withSummaryWatermark } from "./audit-queries";

const DAY_MS = 86_400_000;

/**
 * The six counts of ReplayGroup (credentials absent, then present; token none, valid, invalid)
 * as aggregates over audit_event rows (columns credentials, token_state, count). A token state
 * this version does not know is counted as invalid (fail closed). audit_replay's six count
 * columns, in the same order, hold exactly these sums (server/audit/summary.ts).
 */
export const REPLAY_COUNTS_SQL = [
  "not credentials and token_state = 'none'",
  "not credentials and token_state = 'valid'",
  "not credentials and token_state not in ('none', 'valid')",
  "credentials and token_state = 'none'",
  "credentials and token_state = 'valid'",
  "credentials and token_state not in ('none', 'valid')",
]
  .map((condition) => `coalesce(sum(count) filter (where ${condition}), 0)`)
  .join(", ");

/** audit_replay's count columns, in ReplayGroup.counts order. */
export const REPLAY_COUNT_COLUMNS = [
  "token_none",
  "token_valid",
  "token_invalid",
  "cred_token_none",
  "cred_token_valid",
  "cred_token_invalid",
] as const;

interface ReplayRow {
  has_origin: boolean;
  origin: string;
  subprotocols: string;
  n0: number;
  n1: number;
  n2: number;
  n3: number;
  n4: number;
  n5: number;
}

export interface ReplayWindow {
  /** Aligned down to the UTC day. */
  since: Date;
  until: Date;
  /** One per (origin, subprotocols) seen in the window, with its tuples' counts. */
  groups: ReplayGroup[];
}

/** The replayable handshakes of `tenant` in [since aligned to the UTC day, until), folded by (origin, subprotocols). */
export async function readReplayGroups(
  db: Queryable,
  options: { tenant: string; since: Date; until: Date },
): Promise<ReplayWindow> {
  const since = new Date(Math.floor(options.since.getTime() / DAY_MS) * DAY_MS);
  const until = options.until;
  // Summed as float8 (exact below 2^53 handshakes): a third cheaper than bigint's numeric sums.
  const sums = REPLAY_COUNT_COLUMNS.map((column, i) => `sum(${column}::float8) as n${i}`).join(", ");
  const rows = await withSummaryWatermark(db, async (q, watermark) => {
    // A short aggregate the planner may cost high: JIT compilation would cost more than it
    // saves; and memory enough to hash it rather than sort it on disk.
    await q.query("set local jit = off");
    await q.query("set local work_mem = '64MB'");
    const { rows } = await q.query<ReplayRow>(
      `select has_origin, origin, subprotocols, ${sums} from (
         select has_origin, origin, subprotocols, ${REPLAY_COUNT_COLUMNS.join(", ")}
           from audit_replay where tenant = $1 and bucket >= $2 and bucket < $3
         union all
         select origin is not null, coalesce(origin, ''), coalesce(offered_subprotocols, ''), ${REPLAY_COUNTS_SQL}
           from audit_event
          where id > $4::bigint and ts >= $2 and ts < $3 and tenant = $1 and ${REPLAYABLE_SQL}
          group by 1, 2, 3
       ) as t
       group by 1, 2, 3`,
      [options.tenant, since, until, watermark],
    );
    return rows;
  });
  const groups: ReplayGroup[] = new Array(rows.length);
  const lists = new Map<string, string[]>(); // a handful of distinct lists, decoded once each
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as ReplayRow;
    let subprotocols = lists.get(row.subprotocols);
    if (!subprotocols) {
      subprotocols = decodeOfferedSubprotocols(row.subprotocols);
      lists.set(row.subprotocols, subprotocols);
    }
    groups[i] = {
      origin: row.has_origin ? row.origin : null,
      subprotocols,
      // float8 sums: exact for any count below 2^53.
      counts: [row.n0, row.n1, row.n2, row.n3, row.n4, row.n5],
    };
  }
  return { since, until, groups };
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
