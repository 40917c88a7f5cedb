/**
 * bench:impact — the impact preview (SPEC §5.2) on 1 million and 10 million recorded events
 * (BENCH_SIZES="1000000,10000000"), spread over the default 7-day window.
 *
 * What a preview costs: reading the window's distinct replayable handshakes of one tenant
 * (readReplayTuples: the audit_replay rollup up to the summary's watermark, audit_event after
 * it), compiling the active version and the draft, and replaying every tuple under both
 * (replayImpact) — what previewImpact does, minus reading two small policy rows. The same
 * run times the baseline it replaces: the same aggregation as a scan of audit_event over the
 * window (no rollup), and checks that both give the same preview (a real error otherwise).
 *
 * Disk: about DISK_BYTES_PER_ROW per event; when the Postgres data directory is on this
 * machine its free space is checked first, and the bench stops before loading anything when
 * it is short, saying how much it needs.
 *
 * Data (generate_series, seeded, ids ascending with time; partitions made first; secondary
 * indexes dropped for the load and rebuilt, then ANALYZE): 20 tenants, the largest with ~40 %
 * of rows; 75 % accepted handshakes from 40 app origins per tenant, the rest refused from a
 * long tail of 5,000 attacker origins and a few malformed or missing ones; credentials on
 * 5 %, token none/valid/invalid 70/25/5 %, subprotocols none/chat/chat,v2. The summary then
 * catches up (summarizeAudit), as the gateways' passes do.
 *
 * Method: each preview runs RUNS times, median wall time; the scan baseline SCAN_RUNS times.
 * Goal (issue 14): a preview under 1 s at 10 M events.
 * Run: DATABASE_URL=postgres://... npm run bench:impact
 */
import { existsSync, statfsSync } from "node:fs";
import pg from "pg";
import { summarizeAudit } from "../../server/audit/summary";
import { REPLAYABLE_SQL } from "../../server/db/audit-queries";
import { readReplayTuples } from "../../server/db/impact-queries";
import {
  compileForReplay,
  decodeOfferedSubprotocols,
  defaultPolicyDocument,
  type ImpactResult,
  parsePolicyDocument,
  type ReplayTuple,
  replayImpact,
  type TokenState,
} from "../../server/policy";
import { type BenchDatabase, benchDatabase, fmt, machineLine, median, runBench, verdict } from "./kit";

const SIZES = (process.env.BENCH_SIZES ?? "1000000,10000000").split(",").map(Number);
const DISK_BYTES_PER_ROW = 900;
const CHUNK = 1_000_000;
const DAYS = 7;
const RUNS = 5;
const SCAN_RUNS = 2;
const TENANT = "tenant-0";

let db: BenchDatabase | null = null;

const GENERATE = `
insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, remote_addr,
                         policy_version, matched_pattern, count, credentials, token_state, offered_subprotocols)
select ts, 'gw-' || (g % 3), 'handshake', tenant, decision, reason, origin,
       case when reason in ('origin_malformed', 'origin_missing') then null else origin end,
       '10.' || (r3 * 255)::int || '.' || (r4 * 255)::int || '.1', 3,
       case when decision = 'accepted' then origin end, 1, credentials, token_state, subprotocols
from (
  select g, ts, tenant, r3, r4, credentials, token_state, subprotocols,
         case when accepted then 'accepted' else 'rejected' end::audit_decision as decision,
         case when accepted then 'allowed' when r2 < 0.02 then 'origin_malformed' when r2 < 0.05 then 'origin_missing'
              else 'origin_not_allowed' end as reason,
         case when accepted then 'https://app' || floor(r2 * r2 * 40)::int || '.' || tenant || '.example.com'
              when r2 < 0.02 then 'https://bad' || floor(r2 * 1000)::int || '.example.net/'
              when r2 < 0.05 then null
              else 'https://evil' || floor(r2 * r2 * r2 * 5000)::int || '.example.net' end as origin
  from (
    select g, ts, r2, r3, r4,
           'tenant-' || floor(r0 * r0 * 20)::int as tenant,
           r1 < 0.75 as accepted,
           r3 < 0.05 as credentials,
           case when r4 < 0.70 then 'none' when r4 < 0.95 then 'valid' else 'invalid' end as token_state,
           case when r5 < 0.5 then '' when r5 < 0.9 then 'chat' else 'chat,v2' end as subprotocols
    from (
      select g, now() - interval '${DAYS} days' + (g - $1::int) * (interval '${DAYS} days' / ($2::int - $1::int + 1)) as ts,
             random() as r0, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5
        from generate_series($1::int, $2::int) as g
    ) raw
  ) picked
) shaped
order by ts`;

/** The same tuples as readReplayTuples, by a scan of audit_event over the window (the baseline). */
async function scanTuples(pool: pg.Pool, since: Date, until: Date): Promise<ReplayTuple[]> {
  const { rows } = await pool.query<{
    origin: string | null;
    credentials: boolean;
    token_state: string;
    subprotocols: string;
    count: string;
  }>(
    `select origin, credentials, token_state, coalesce(offered_subprotocols, '') as subprotocols, sum(count)::text as count
       from audit_event where tenant = $1 and ts >= $2 and ts < $3 and ${REPLAYABLE_SQL}
      group by 1, 2, 3, 4`,
    [TENANT, since, until],
  );
  return rows.map((r) => ({
    origin: r.origin,
    credentials: r.credentials,
    tokenState: r.token_state as TokenState,
    subprotocols: decodeOfferedSubprotocols(r.subprotocols),
    count: Number(r.count),
  }));
}

const active = parsePolicyDocument({
  ...defaultPolicyDocument(),
  origins: Array.from({ length: 40 }, (_, i) => ({ pattern: `https://app${i}.${TENANT}.example.com` })),
});
// The draft: drops the busiest app origin, admits the busiest attacker, requires a token.
const draft = parsePolicyDocument({
  ...active,
  token: "required",
  origins: [
    ...active.origins.filter((o) => o.pattern !== `https://app0.${TENANT}.example.com`),
    { pattern: "https://evil0.example.net" },
  ],
});

function replay(tuples: ReplayTuple[], now: number): ImpactResult {
  return replayImpact(
    compileForReplay(active, { version: 1, tenant: TENANT, now }),
    compileForReplay(draft, { version: 2, tenant: TENANT, now }),
    tuples,
    now,
  );
}

async function timed<T>(fn: () => Promise<T>, runs: number): Promise<{ ms: number; value: T }> {
  const times: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), value: value as T };
}

async function main(): Promise<void> {
  db = await benchDatabase("impact");
  console.log(`bench:impact — ${machineLine(db.postgresVersion)}`);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const largest = Math.max(...SIZES);
  if (!(await enoughDisk(pool, largest))) {
    await pool.end();
    return;
  }
  await pool.query(
    `select audit_event_create_partition((now() at time zone 'UTC')::date + g) from generate_series(-${DAYS + 1}, 0) as g`,
  );
  console.log(
    "\n| events | tenant's events in window | distinct tuples | preview (rollup) ms | of which reading ms | scan baseline ms | ratio | newly refused | newly admitted |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  let loaded = 0;
  let worst = 0;
  for (const size of [...SIZES].sort((a, b) => a - b)) {
    await load(pool, loaded, size);
    loaded = size;
    for (;;) {
      const pass = await summarizeAudit({ pool, maxRows: 500_000, budgetMs: 600_000 });
      if (!pass.behind) break;
    }
    await pool.query("vacuum analyze audit_replay");
    const now = Date.now();
    const since = new Date(now - DAYS * 86_400_000);
    const preview = await timed(async () => {
      const window = await readReplayTuples(pool, { tenant: TENANT, since, until: new Date(now) });
      return { window, result: replay(window.tuples, now) };
    }, RUNS);
    const read = await timed(() => readReplayTuples(pool, { tenant: TENANT, since, until: new Date(now) }), RUNS);
    const scan = await timed(async () => {
      const tuples = await scanTuples(pool, preview.value.window.since, new Date(now));
      return replay(tuples, now);
    }, SCAN_RUNS);
    const { result } = preview.value;
    // A real error, not a figure: the rollup must give the scan's answer.
    if (JSON.stringify(result) !== JSON.stringify(scan.value)) {
      throw new Error(`the rollup's preview differs from the scan's at ${size} events`);
    }
    worst = Math.max(worst, preview.ms);
    const sum = (entries: Array<{ count: number }>) => entries.reduce((total, e) => total + e.count, 0);
    console.log(
      `| ${fmt(size)} | ${fmt(result.evaluated)} | ${fmt(result.distinct)} | ${fmt(preview.ms, 1)} | ${fmt(read.ms, 1)} | ${fmt(scan.ms, 1)} | ` +
        `${fmt(scan.ms / preview.ms, 1)}x | ${fmt(sum(result.newlyRefused))} | ${fmt(sum(result.newlyAllowed))} |`,
    );
  }
  const { rows } = await pool.query<{ rollup: string; size: string }>(
    "select count(*)::text as rollup, pg_size_pretty(pg_total_relation_size('audit_replay')) as size from audit_replay",
  );
  console.log(`\naudit_replay: ${fmt(Number(rows[0]?.rollup))} rows (${rows[0]?.size}) for ${fmt(loaded)} events`);
  console.log(`goal: a preview < 1 s at the largest size → ${fmt(worst, 1)} ms ${verdict(worst < 1000)}`);
  await pool.end();
}

/** Generates events number from+1..to (indexes dropped for the load and rebuilt). */
async function load(pool: pg.Pool, from: number, to: number): Promise<void> {
  const started = performance.now();
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    "select indexname as name, replace(indexdef, ' ON ONLY ', ' ON ') as def from pg_indexes where tablename = 'audit_event' and indexname <> 'audit_event_pkey'",
  );
  for (const index of indexes) await pool.query(`drop index "${index.name}"`);
  const client = await pool.connect();
  try {
    await client.query(`select setseed(${0.1 + from / 1e9})`);
    await client.query("set work_mem = '256MB'");
    for (let first = from + 1; first <= to; first += CHUNK) {
      const last = Math.min(to, first + CHUNK - 1);
      await client.query(GENERATE, [first, last]);
      process.stderr.write(`  generated ${fmt(last)} rows\r`);
    }
    process.stderr.write("\n");
    await client.query("set maintenance_work_mem = '512MB'");
    for (const index of indexes) await client.query(index.def);
    await client.query("analyze audit_event");
  } finally {
    client.release();
  }
  console.log(`loaded ${fmt(to - from)} events in ${fmt((performance.now() - started) / 1000, 1)} s`);
}

/** False (after saying so) when the local Postgres data directory has less free space than `rows` need. */
async function enoughDisk(pool: pg.Pool, rows: number): Promise<boolean> {
  const need = rows * DISK_BYTES_PER_ROW;
  const gib = (n: number) => `${fmt(n / 2 ** 30, 1)} GiB`;
  let dir: string | null = null;
  try {
    dir = (await pool.query<{ dir: string }>("select current_setting('data_directory') as dir")).rows[0]?.dir ?? null;
  } catch {
    // not a superuser: cannot check
  }
  if (!dir || !existsSync(dir)) {
    console.log(
      `disk: the Postgres data directory is not on this machine; the load needs about ${gib(need)} — not checked`,
    );
    return true;
  }
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  console.log(`disk: ${gib(free)} free under ${dir}; the load needs about ${gib(need)}`);
  if (free < need) {
    console.log(
      `NOT RUN: not enough free disk for ${fmt(rows)} events (${gib(need)} needed, ${gib(free)} free). ` +
        "Free some space or run with smaller BENCH_SIZES.",
    );
    return false;
  }
  return true;
}

runBench(main, async () => {
  await db?.drop();
});
