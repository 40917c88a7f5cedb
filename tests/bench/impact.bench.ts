/**
 * bench:impact — the impact preview (SPEC §5.2) on 1 million and 10 million recorded events
 * (BENCH_SIZES="1000000,10000000"), spread over the default 7-day window, with two generators
 * (BENCH_GENERATORS="worst,realistic"), each in its own database (dropped before the next).
 *
 * What a preview costs: reading the window's replayable handshakes of one tenant
 * (readReplayGroups: the audit_replay rollup up to the summary's watermark, audit_event after
 * it; one row per origin and offered subprotocols with six counts), compiling the active
 * version and the draft, and replaying the groups under both (replayGroups) — what
 * previewImpact does, minus reading two small policy rows. The same run times the baseline it
 * replaces: the distinct tuples aggregated by a scan of audit_event over the window (no
 * rollup), replayed tuple by tuple (replayImpact), and checks that both give the same preview,
 * counts and distinct tuples included (a real error otherwise).
 *
 * Disk: about DISK_BYTES_PER_ROW per event; when the Postgres data directory is on this
 * machine its free space is checked first, and the bench stops before loading anything when
 * it is short, saying how much it needs.
 *
 * Data (generate_series, seeded, ids ascending with time; partitions made first; secondary
 * indexes dropped for the load and rebuilt, then ANALYZE): 20 tenants, the largest with ~40 %
 * of rows; 75 % accepted handshakes from 40 app origins per tenant, the rest refused from a
 * long tail of 5,000 attacker origins and a few malformed or missing ones. `worst`: credentials
 * on 5 %, token none/valid/invalid 70/25/5 %, subprotocols none/chat/chat,v2, drawn
 * independently for every event (the most distinct tuples). `realistic`: facts follow the
 * origin — 95 % of an origin's events carry that origin's own facts (derived from a hash of
 * it), 5 % are drawn as in `worst`. The summary then catches up (summarizeAudit), as the
 * gateways' passes do (in passes of 1,000,000 events).
 *
 * Method: each preview runs RUNS times, median wall time; the scan baseline SCAN_RUNS times.
 * Goal (issue 14): a preview under 1 s at 10 M events.
 * Run: DATABASE_URL=postgres://... npm run bench:impact  (BENCH_KEEP_DB=1 keeps the databases)
 */
import { existsSync, statfsSync } from "node:fs";
import pg from "pg";
import { summarizeAudit } from "../../server/audit/summary";
import { readReplayGroups } from "../../server/db/impact-queries";
import {
  type CompiledPolicy,
  compileForReplay,
  defaultPolicyDocument,
  parsePolicyDocument,
  ReplayProbes,
  replayGroups,
  replayImpact,
} from "../../server/policy";
import { scanReplayTuples } from "../helpers/replay-scan";
import { type BenchDatabase, benchDatabase, fmt, machineLine, median, runBench, verdict } from "./kit";

const SIZES = (process.env.BENCH_SIZES ?? "1000000,10000000").split(",").map(Number);
/** worst: facts drawn independently for every event; realistic: facts follow the origin. */
const GENERATORS = (process.env.BENCH_GENERATORS ?? "worst,realistic").split(",").map((g) => g.trim());
for (const generator of GENERATORS) {
  if (generator !== "worst" && generator !== "realistic")
    throw new Error(`BENCH_GENERATORS: unknown generator ${generator}`);
}
const DISK_BYTES_PER_ROW = 900;
const CHUNK = 1_000_000;
const DAYS = 7;
const RUNS = 5;
const SCAN_RUNS = 2;
const TENANT = "tenant-0";

let db: BenchDatabase | null = null;

/**
 * $1..$2: the events' numbers; $3: facts follow the origin (the realistic generator) instead of
 * being drawn independently for every event (the worst case for the number of tuples).
 */
const GENERATE = `
insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, remote_addr,
                         policy_version, matched_pattern, count, credentials, token_state, offered_subprotocols)
select ts, 'gw-' || (g % 3), 'handshake', tenant, decision, reason, origin,
       case when reason in ('origin_malformed', 'origin_missing') then null else origin end,
       '10.' || (r3 * 255)::int || '.' || (r4 * 255)::int || '.1', 3,
       case when decision = 'accepted' then origin end, 1,
       -- Realistic: 95 % of an origin's clients send its own facts (derived from the origin), 5 % anything.
       case when $3::boolean and r6 < 0.95 then h % 20 = 0 else credentials end,
       case when $3::boolean and r6 < 0.95 then (array['none', 'none', 'valid', 'valid', 'invalid'])[1 + h % 5]
            else token_state end,
       case when $3::boolean and r6 < 0.95 then (array['', 'chat', 'chat,v2'])[1 + (h / 7) % 3] else subprotocols end
from (
  select *, abs(hashtext(coalesce(origin, '')))::bigint as h
  from (
    select g, ts, tenant, r3, r4, r6, credentials, token_state, subprotocols,
           case when accepted then 'accepted' else 'rejected' end::audit_decision as decision,
           case when accepted then 'allowed' when r2 < 0.02 then 'origin_malformed' when r2 < 0.05 then 'origin_missing'
                else 'origin_not_allowed' end as reason,
           case when accepted then 'https://app' || floor(r2 * r2 * 40)::int || '.' || tenant || '.example.com'
                when r2 < 0.02 then 'https://bad' || floor(r2 * 1000)::int || '.example.net/'
                when r2 < 0.05 then null
                else 'https://evil' || floor(r2 * r2 * r2 * 5000)::int || '.example.net' end as origin
    from (
      select g, ts, r2, r3, r4, r6,
             'tenant-' || floor(r0 * r0 * 20)::int as tenant,
             r1 < 0.75 as accepted,
             r3 < 0.05 as credentials,
             case when r4 < 0.70 then 'none' when r4 < 0.95 then 'valid' else 'invalid' end as token_state,
             case when r5 < 0.5 then '' when r5 < 0.9 then 'chat' else 'chat,v2' end as subprotocols
      from (
        select g, now() - interval '${DAYS} days' + (g - $1::int) * (interval '${DAYS} days' / ($2::int - $1::int + 1)) as ts,
               random() as r0, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5,
               random() as r6
          from generate_series($1::int, $2::int) as g
      ) raw
    ) picked
  ) shaped
) faceted
order by ts`;

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

function compiled(now: number): [CompiledPolicy, CompiledPolicy] {
  return [
    compileForReplay(active, { version: 1, tenant: TENANT, now }),
    compileForReplay(draft, { version: 2, tenant: TENANT, now }),
  ];
}

/** What previewImpact does: totals for origins both versions refuse by the origin, six counts for the rest. */
async function preview(pool: pg.Pool, since: Date, now: number) {
  const probes = new ReplayProbes(...compiled(now), now);
  const window = await readReplayGroups(pool, {
    tenant: TENANT,
    since,
    until: new Date(now),
    needsCounts: (origin) => !probes.decidedByOrigin(origin),
  });
  return { window, result: replayGroups(probes, window.groups) };
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
  console.log(`bench:impact — ${machineLine()}`);
  const largest = Math.max(...SIZES);
  const header = () =>
    console.log(
      "\n| generator | events | tenant's events in window | distinct tuples | groups (origin, subprotocols) | of which read with counts | preview ms | preview, all counts read ms | scan baseline ms | scan / preview | newly refused | newly admitted |" +
        "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
  let worst = 0;
  const footnotes: string[] = [];
  for (const generator of GENERATORS) {
    // One database per generator, dropped before the next one is loaded (the disk holds one).
    db = await benchDatabase(`impact_${generator}`);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      if (!(await enoughDisk(pool, largest))) return;
      if (generator === GENERATORS[0]) header();
      await pool.query(
        `select audit_event_create_partition((now() at time zone 'UTC')::date + g) from generate_series(-${DAYS + 1}, 0) as g`,
      );
      let loaded = 0;
      for (const size of [...SIZES].sort((a, b) => a - b)) {
        const loadedIn = await load(pool, loaded, size, generator === "realistic");
        loaded = size;
        const caughtUp = performance.now();
        for (;;) {
          const pass = await summarizeAudit({ pool, maxRows: 1_000_000, budgetMs: 600_000 });
          if (!pass.behind) break;
        }
        footnotes.push(
          `${generator} ${fmt(size)}: ${loadedIn}, summary catch-up ${fmt((performance.now() - caughtUp) / 1000, 1)} s ` +
            `(Postgres ${db.postgresVersion})`,
        );
        await pool.query("vacuum analyze audit_replay");
        worst = Math.max(worst, await measure(pool, generator, size));
      }
      const { rows } = await pool.query<{ rollup: string; size: string }>(
        "select count(*)::text as rollup, pg_size_pretty(pg_total_relation_size('audit_replay')) as size from audit_replay",
      );
      footnotes.push(
        `${generator}: audit_replay ${fmt(Number(rows[0]?.rollup))} rows (${rows[0]?.size}) for ${fmt(loaded)} events`,
      );
    } finally {
      await pool.end();
      await dropBenchDatabase();
    }
  }
  console.log(`\n${footnotes.join("\n")}`);
  console.log(
    `goal: a preview < 1 s at the largest size (every generator) → ${fmt(worst, 1)} ms ${verdict(worst < 1000)}`,
  );
}

/** Times a preview of TENANT over the last DAYS days against the scan baseline; prints a row; returns the preview's ms. */
async function measure(pool: pg.Pool, generator: string, size: number): Promise<number> {
  const now = Date.now();
  const since = new Date(now - DAYS * 86_400_000);
  const fast = await timed(() => preview(pool, since, now), RUNS);
  // The rollup read with every group's six counts (no totals-first): what the preview saves by it.
  const allCounts = await timed(async () => {
    const window = await readReplayGroups(pool, { tenant: TENANT, since, until: new Date(now) });
    return replayGroups(new ReplayProbes(...compiled(now), now), window.groups);
  }, RUNS);
  const scan = await timed(async () => {
    const tuples = await scanReplayTuples(pool, TENANT, fast.value.window.since, new Date(now));
    return replayImpact(...compiled(now), tuples, now);
  }, SCAN_RUNS);
  const { result, window } = fast.value;
  // A real error, not a figure: the rollup must give the scan's answer, to the tuple.
  for (const [name, value] of [
    ["preview", result],
    ["all-counts read", allCounts.value],
  ] as const) {
    if (JSON.stringify(value) !== JSON.stringify(scan.value)) {
      throw new Error(`the rollup's ${name} differs from the scan's (${generator}, ${size} events)`);
    }
  }
  const withCounts = window.groups.filter((g) => "counts" in g).length;
  const sum = (entries: Array<{ count: number }>) => entries.reduce((total, e) => total + e.count, 0);
  console.log(
    `| ${generator} | ${fmt(size)} | ${fmt(result.evaluated)} | ${fmt(result.distinct)} | ${fmt(window.groups.length)} | ` +
      `${fmt(withCounts)} | ${fmt(fast.ms, 1)} | ${fmt(allCounts.ms, 1)} | ${fmt(scan.ms, 1)} | ${fmt(scan.ms / fast.ms, 1)}x | ` +
      `${fmt(sum(result.newlyRefused))} | ${fmt(sum(result.newlyAllowed))} |`,
  );
  return fast.ms;
}

async function dropBenchDatabase(): Promise<void> {
  const current = db;
  db = null;
  if (!current) return;
  // BENCH_KEEP_DB=1 leaves the loaded databases for inspection (their URLs are printed).
  if (process.env.BENCH_KEEP_DB === "1") console.log(`kept: ${current.url}`);
  else await current.drop();
}

/** Generates events number from+1..to (indexes dropped for the load and rebuilt). */
async function load(pool: pg.Pool, from: number, to: number, realistic: boolean): Promise<string> {
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
      await client.query(GENERATE, [first, last, realistic]);
      process.stderr.write(`  generated ${fmt(last)} rows\r`);
    }
    process.stderr.write("\n");
    await client.query("set maintenance_work_mem = '512MB'");
    for (const index of indexes) await client.query(index.def);
    await client.query("analyze audit_event");
  } finally {
    client.release();
  }
  return `loaded ${fmt(to - from)} events in ${fmt((performance.now() - started) / 1000, 1)} s`;
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

runBench(main, dropBenchDatabase);
