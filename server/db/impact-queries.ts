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
import { decodeOfferedSubprotocols, type ReplayGroup, type ReplayGroupTotal } from "../policy";
import { PATTERN_HIT_SQL, type Queryable, REPLAYABLE_SQL, withSummaryWatermark } from "./audit-queries";

const DAY_MS = 86_400_000;

/**
 * The six counts of ReplayGroup (credentials absent, then present; token none, valid, invalid)
 * as aggregates over audit_event rows (columns credentials, token_state, count), named n0..n5.
 * A token state this version does not know is counted as invalid (fail closed). audit_replay's
 * six count columns, in the same order, hold exactly these sums (server/audit/summary.ts).
 */
export const REPLAY_COUNTS_SQL = [
  "not credentials and token_state = 'none'",
  "not credentials and token_state = 'valid'",
  "not credentials and token_state not in ('none', 'valid')",
  "credentials and token_state = 'none'",
  "credentials and token_state = 'valid'",
  "credentials and token_state not in ('none', 'valid')",
]
  .map((condition, i) => `coalesce(sum(count) filter (where ${condition}), 0) as n${i}`)
  .join(", ");

/** audit_replay's total and variants (bit i: count i is positive) from columns n0..n5. */
export const REPLAY_TOTAL_SQL = "n0 + n1 + n2 + n3 + n4 + n5";
export const REPLAY_VARIANTS_SQL =
  "(n0 > 0)::int + (n1 > 0)::int * 2 + (n2 > 0)::int * 4 + (n3 > 0)::int * 8 + (n4 > 0)::int * 16 + (n5 > 0)::int * 32";

/** audit_replay's count columns, in ReplayGroup.counts order. */
export const REPLAY_COUNT_COLUMNS = [
  "token_none",
  "token_valid",
  "token_invalid",
  "cred_token_none",
  "cred_token_valid",
  "cred_token_invalid",
] as const;

interface CountsRow {
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

interface TotalRow {
  has_origin: boolean;
  origin: string;
  subprotocols: string;
  total: number;
  variants: number;
}

export interface ReplayWindow {
  /** Aligned down to the UTC day. */
  since: Date;
  until: Date;
  /**
   * One per (origin, subprotocols) seen in the window: with its tuples' six counts, or only
   * their total and variants for an origin `needsCounts` said does not need them.
   */
  groups: Array<ReplayGroup | ReplayGroupTotal>;
}

/**
 * The replayable handshakes of `tenant` in [since aligned to the UTC day, until), folded by
 * (origin, subprotocols), in one snapshot (pass a pool, or a client inside a repeatable-read
 * transaction).
 *
 * Without `needsCounts`, every group comes with its six counts (one query). With it, the
 * window's totals come first (two aggregates per row instead of six: the cheaper read), and
 * only the groups of the origins for which `needsCounts(origin)` is true are read again with
 * their six counts — for a preview, the origins some version admits past the origin check
 * (ReplayProbes.decidedByOrigin), a few dozen against thousands refused.
 */
export async function readReplayGroups(
  db: Queryable,
  options: { tenant: string; since: Date; until: Date; needsCounts?: (origin: string | null) => boolean },
): Promise<ReplayWindow> {
  const since = new Date(Math.floor(options.since.getTime() / DAY_MS) * DAY_MS);
  const until = options.until;
  const window = [options.tenant, since, until];
  const lists = new Map<string, string[]>(); // a handful of distinct lists, decoded once each
  const decode = (stored: string) => {
    let subprotocols = lists.get(stored);
    if (!subprotocols) {
      subprotocols = decodeOfferedSubprotocols(stored);
      lists.set(stored, subprotocols);
    }
    return subprotocols;
  };
  const groups = await withSummaryWatermark(db, async (q, watermark) => {
    // Short aggregates the planner may cost high: JIT compilation would cost more than it
    // saves; and memory enough to hash them rather than sort them on disk.
    await q.query("set local jit = off");
    await q.query("set local work_mem = '64MB'");
    const needsCounts = options.needsCounts;
    if (!needsCounts) return (await readCounts(q, window, watermark, null)).map((row) => countsGroup(row, decode));
    // Sums as float8 (exact below 2^53 handshakes): cheaper than bigint's numeric sums.
    const { rows: totals } = await q.query<TotalRow>(
      `select has_origin, origin, subprotocols, sum(total::float8) as total, bit_or(variants) as variants from (
         select has_origin, origin, subprotocols, total, variants
           from audit_replay where tenant = $1 and bucket >= $2 and bucket < $3
         union all
         select has_origin, origin, subprotocols, ${REPLAY_TOTAL_SQL}, ${REPLAY_VARIANTS_SQL} from (
           select origin is not null as has_origin, coalesce(origin, '') as origin,
                  coalesce(offered_subprotocols, '') as subprotocols, ${REPLAY_COUNTS_SQL}
             from audit_event
            where id > $4::bigint and ts >= $2 and ts < $3 and tenant = $1 and ${REPLAYABLE_SQL}
            group by 1, 2, 3
         ) as recent
       ) as t
       group by 1, 2, 3`,
      [...window, watermark],
    );
    const out: Array<ReplayGroup | ReplayGroupTotal> = [];
    const detailed = new Set<string>();
    let missingDetailed = false;
    const verdicts = new Map<string | null, boolean>();
    for (const row of totals) {
      const origin = row.has_origin ? row.origin : null;
      let needs = verdicts.get(origin);
      if (needs === undefined) {
        needs = needsCounts(origin);
        verdicts.set(origin, needs);
        if (needs && origin === null) missingDetailed = true;
        else if (needs) detailed.add(row.origin);
      }
      if (!needs) {
        out.push({ origin, subprotocols: decode(row.subprotocols), total: row.total, variants: row.variants });
      }
    }
    if (detailed.size > 0 || missingDetailed) {
      const only = { origins: [...detailed], missing: missingDetailed };
      for (const row of await readCounts(q, window, watermark, only)) out.push(countsGroup(row, decode));
    }
    return out;
  });
  return { since, until, groups };
}

/** The six sums per (origin, subprotocols) in the window; `only`: of these origins (and the missing one) only. */
async function readCounts(
  q: Queryable,
  window: unknown[],
  watermark: string,
  only: { origins: string[]; missing: boolean } | null,
): Promise<CountsRow[]> {
  const columns = REPLAY_COUNT_COLUMNS.map((column, i) => `${column} as n${i}`).join(", ");
  // Sums as float8 (exact below 2^53 handshakes): cheaper than bigint's numeric sums.
  const sums = REPLAY_COUNT_COLUMNS.map((_, i) => `sum(n${i}::float8) as n${i}`).join(", ");
  // By origin as stored ('' when absent; audit_replay's (tenant, origin, bucket) index); the
  // groups of an absent or a present origin that was not asked for are dropped below.
  const rollupFilter = only ? "and origin = any($5::text[])" : "";
  const eventFilter = only ? "and coalesce(origin, '') = any($5::text[])" : "";
  const { rows } = await q.query<CountsRow>(
    `select has_origin, origin, subprotocols, ${sums} from (
       select has_origin, origin, subprotocols, ${columns}
         from audit_replay where tenant = $1 and bucket >= $2 and bucket < $3 ${rollupFilter}
       union all
       select origin is not null, coalesce(origin, ''), coalesce(offered_subprotocols, ''), ${REPLAY_COUNTS_SQL}
         from audit_event
        where id > $4::bigint and ts >= $2 and ts < $3 and tenant = $1 and ${REPLAYABLE_SQL} ${eventFilter}
        group by 1, 2, 3
     ) as t
     group by 1, 2, 3`,
    only ? [...window, watermark, only.missing ? [...only.origins, ""] : only.origins] : [...window, watermark],
  );
  if (!only) return rows;
  const wanted = new Set(only.origins);
  return rows.filter((row) => (row.has_origin ? wanted.has(row.origin) : only.missing));
}

function countsGroup(row: CountsRow, decode: (stored: string) => string[]): ReplayGroup {
  return {
    origin: row.has_origin ? row.origin : null,
    subprotocols: decode(row.subprotocols),
    // float8 sums: exact for any count below 2^53.
    counts: [row.n0, row.n1, row.n2, row.n3, row.n4, row.n5],
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
