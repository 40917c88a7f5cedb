/**
 * bench:audit-query — the audit history query (`searchAudit` in server/db/audit-queries.ts:
 * filters, newest first, keyset on (ts, id), page size 50) on ROWS generated events (default
 * 10 million) in the partitioned `audit_event` (one partition per day), keyset against OFFSET
 * at page 1, 100 and 10,000 (offset 0, 4,950 and 499,950 rows); and the audit page's overview
 * (`auditTimeline`, `topRejectedOrigins`: the last hour and the last day, all tenants and the
 * largest one).
 *
 * Disk: the generated table needs about DISK_BYTES_PER_ROW per event. When the Postgres data
 * directory is on this machine, its free space is checked first (statfs, as `df` reports it)
 * and the bench stops before loading anything when it is short, saying how much it needs.
 *
 * Data (generated in SQL with generate_series, seeded, ids ascending with time over 30
 * days): 20 tenants with a skewed spread (the largest ~38 % of rows), 70 % accepted
 * (handshake and close), 27 % rejected (origin_not_allowed most, then origin_missing,
 * rate_limited, credentials_forbidden, token_invalid, connection_limit, origin_malformed),
 * 3 % report-only; allowed origins per tenant, a long tail of attacker origins; folded
 * rejection counts; a few rows of the rare kinds (revoked, tester, dropped). The partitions
 * of the 31 days are made first (`audit_event_create_partition`, as the upkeep does).
 * Secondary indexes are dropped for the load (in chunks of CHUNK rows) and recreated from
 * their own definitions (pg_indexes), then ANALYZE — the same indexes the migrations create.
 *
 * Method: for each filter and depth, the keyset cursor is the (ts, id) of the last row of the
 * previous page (found untimed); each query runs RUNS times and the median wall time of
 * the call is reported (searchAudit itself for keyset: zod parsing, SQL, row mapping; the
 * same SQL with OFFSET and the same mapping for the comparison). A keyset page over 50 ms
 * gets its plan printed (EXPLAIN ANALYZE) so the missing index can be named.
 *
 * Goal (issues 6, 15): every keyset page and every overview query under 50 ms.
 * Run: DATABASE_URL=postgres://... npm run bench:audit-query   (BENCH_ROWS=2000000 for a smaller run)
 */
import { existsSync, statfsSync } from "node:fs";
import pg from "pg";
import { summarizeAudit } from "../../server/audit/summary";
import {
  AUDIT_COLUMNS,
  type AuditFilter,
  auditFilterSchema,
  auditTimeline,
  auditWhere,
  matchedOrigins,
  overviewWindow,
  searchAudit,
  topRejectedOrigins,
} from "../../server/db/audit-queries";
import { databaseName } from "../../server/db/pg-server";
import {
  type BenchDatabase,
  benchDatabase,
  cpuBreakdown,
  cpuSnapshot,
  fmt,
  machineLine,
  median,
  runBench,
  verdict,
} from "./kit";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const CHUNK = 1_000_000;
/** Heap, indexes and WAL per generated event, with a margin (measured: ~560 B at 10 M rows). */
const DISK_BYTES_PER_ROW = 1000;
const PAGE = 50;
const DEPTHS = [1, 100, 10_000];
const RUNS = 5;
const DEEP_OFFSET_RUNS = 3;

let db: BenchDatabase | null = null;

const GENERATE = `
insert into audit_event (ts, last_ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized,
                         remote_addr, user_agent, path, subprotocol, policy_version, matched_pattern, count,
                         close_code, duration_ms)
select ts, case when folded then ts + interval '1 second' end, gw, kind, tenant, decision, reason,
       origin, case when reason in ('origin_malformed', 'origin_missing') then null else origin end,
       ip, ua, path, null, 7, case when decision = 'accepted' then 'https://*.' || tenant || '.example.com' end,
       case when folded then 2 + (r5 * 40)::int else 1 end,
       case when kind = 'close' then 1000 end, case when kind = 'close' then (r5 * 600000)::int end
from (
  select ts, gw, r5, tenant, decision, reason, kind,
         decision = 'rejected' and r5 < 0.3 as folded,
         case
           when reason = 'origin_missing' then null
           when reason = 'origin_malformed' then 'null-ish origin ' || (r4 * 20)::int
           when decision = 'accepted' then 'https://app' || (r4 * r4 * 20)::int || '.' || tenant || '.example.com'
           else 'https://evil' || (r4 * r4 * r4 * 5000)::int || '.example.net'
         end as origin,
         '10.' || (r5 * 255)::int || '.' || (r4 * 255)::int || '.' || (r3 * 255)::int as ip,
         case when r3 < 0.6 then 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0' else 'Mozilla/5.0 (Macintosh) Safari/605.1.15' end as ua,
         '/live/' || (r3 * 100)::int as path
  from (
    select ts, gw, r3, r4, r5, tenant, decision, kind,
           case
             when decision = 'accepted' then 'allowed'
             when decision = 'report_only' then 'origin_not_allowed'
             when r2 < 0.70 then 'origin_not_allowed'
             when r2 < 0.80 then 'origin_missing'
             when r2 < 0.88 then 'rate_limited'
             when r2 < 0.93 then 'credentials_forbidden'
             when r2 < 0.97 then 'token_invalid'
             when r2 < 0.99 then 'connection_limit'
             else 'origin_malformed'
           end as reason
    from (
      select ts, gw, r2, r3, r4, r5,
             'tenant-' || floor(r0 * r0 * r0 * r0 * 20)::int as tenant,
             (case when r1 < 0.70 then 'accepted' when r1 < 0.97 then 'rejected' else 'report_only' end)::audit_decision as decision,
             (case when r1 < 0.32 then 'close' when r2 < 0.0001 then 'revoked' when r2 > 0.9999 then 'dropped'
                   when r3 < 0.0001 then 'tester' else 'handshake' end)::audit_kind as kind
      from (
        select now() - interval '30 days' + g * (interval '30 days' / $1) as ts,
               'gw-' || (g % 3) as gw,
               random() as r0, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5
        from generate_series($2::int, $3::int) as g
      ) raw
    ) picked
  ) reasoned
) shaped
order by ts`;

interface Case {
  label: string;
  filter: Omit<AuditFilter, "cursor" | "limit">;
}

function cases(now: number): Case[] {
  const day = 86_400_000;
  return [
    { label: "no filter", filter: {} },
    { label: "tenant (largest)", filter: { tenant: "tenant-0" } },
    { label: "tenant (smallest)", filter: { tenant: "tenant-19" } },
    { label: "decision = rejected", filter: { decision: "rejected" } },
    { label: "decision = report_only", filter: { decision: "report_only" } },
    { label: "decision = accepted", filter: { decision: "accepted" } },
    { label: "tenant + decision = rejected", filter: { tenant: "tenant-0", decision: "rejected" } },
    { label: "tenant + reason = token_invalid (rare)", filter: { tenant: "tenant-3", reason: "token_invalid" } },
    { label: "reason = origin_malformed", filter: { reason: "origin_malformed" } },
    { label: "origin (frequent attacker)", filter: { origin: "https://evil0.example.net" } },
    { label: "origin (allowed, one tenant's app)", filter: { origin: "https://app3.tenant-2.example.com" } },
    { label: "origin (rare, malformed as sent)", filter: { origin: "null-ish origin 7" } },
    { label: "origin (no such origin)", filter: { origin: "https://never.example.org" } },
    { label: "originContains (frequent: evil0.)", filter: { originContains: "evil0." } },
    { label: "originContains (rare: evil4321)", filter: { originContains: "evil4321" } },
    { label: "originContains (tenant-7.example)", filter: { originContains: "tenant-7.example" } },
    { label: "originContains (matches nothing)", filter: { originContains: "zzqx-nothing" } },
    { label: "originPrefix (https://evil12)", filter: { originPrefix: "https://evil12" } },
    { label: "originPrefix (null-ish, malformed)", filter: { originPrefix: "null-ish origin 1" } },
    { label: "tenant + originContains", filter: { tenant: "tenant-1", originContains: "evil3" } },
    { label: "kind = close", filter: { kind: "close" } },
    { label: "kind = dropped (rare)", filter: { kind: "dropped" } },
    { label: "kind = tester (rare)", filter: { kind: "tester" } },
    {
      label: "tenant + one day, 10 days ago",
      filter: {
        tenant: "tenant-0",
        since: new Date(now - 10 * day).toISOString(),
        until: new Date(now - 9 * day).toISOString(),
      },
    },
    {
      label: "reason = rate_limited + last 24 h",
      filter: { reason: "rate_limited", since: new Date(now - day).toISOString() },
    },
    {
      label: "originContains + one day, 20 days ago",
      filter: {
        originContains: "evil2",
        since: new Date(now - 20 * day).toISOString(),
        until: new Date(now - 19 * day).toISOString(),
      },
    },
  ];
}

/** The WHERE clause searchAudit builds for a filter (origin patterns resolved through audit_origin as it does). */
async function filterSql(pool: pg.Pool, filter: Case["filter"]): Promise<{ where: string[]; values: unknown[] }> {
  const values: unknown[] = [];
  const f = auditFilterSchema.parse(filter);
  // As searchAudit does, minus its split at the summary's watermark (the bench's summary has caught up).
  const origins = await matchedOrigins(pool, f);
  const { rows } = await pool.query<{ w: string }>("select last_id::text as w from audit_summary_state");
  return {
    where: auditWhere(
      f,
      values,
      origins === null ? { mode: "patterns" } : { mode: "summarized", origins, watermark: rows[0]!.w },
    ),
    values,
  };
}

async function timed(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  // Diagnosis: BENCH_REUSE_DB=<url of a database a kept run loaded> skips the load.
  const reuse = process.env.BENCH_REUSE_DB;
  db = reuse
    ? { url: reuse, postgresVersion: "(reused database)", drop: async () => {} }
    : await benchDatabase("auditq");
  console.log(`bench:audit-query — ${machineLine(db.postgresVersion)}`);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });

  if (!reuse) {
    if (!(await enoughDisk(pool))) return;
    await load(pool);
  }
  // The summary (server/audit/summary.ts) catches up with the generated events, as the
  // gateways' passes do with live ones; its cost per event is what it adds to Postgres' work.
  const summaryStarted = performance.now();
  const cpuBefore = cpuSnapshot();
  let summarized = 0;
  for (;;) {
    const pass = await summarizeAudit({ pool, maxRows: 500_000, budgetMs: 60_000 });
    summarized += pass.rows;
    if (!pass.behind) break;
  }
  const summaryMs = performance.now() - summaryStarted;
  const summaryCores = cpuBreakdown(cpuBefore, cpuSnapshot(), {}, databaseName(db.url));
  await pool.query("vacuum analyze audit_count, audit_rejected_origin, audit_origin");
  const { rows: summarySizes } = await pool.query<{ counts: string; rejected: string; origins: string; size: string }>(
    `select (select count(*) from audit_count)::text as counts, (select count(*) from audit_rejected_origin)::text as rejected,
            (select count(*) from audit_origin)::text as origins,
            pg_size_pretty(pg_total_relation_size('audit_count') + pg_total_relation_size('audit_rejected_origin') + pg_total_relation_size('audit_origin')) as size`,
  );
  const s = summarySizes[0]!;
  console.log(
    `summary: ${fmt(summarized)} events summarized in ${fmt(summaryMs / 1000, 1)} s ` +
      `(${fmt(summarized ? ((summaryCores.postgres ?? 0) * summaryMs * 1000) / summarized : 0, 2)} µs of Postgres CPU per event); ` +
      `${fmt(Number(s.counts))} count rows, ${fmt(Number(s.rejected))} rejected-origin rows, ${fmt(Number(s.origins))} origins (${s.size})\n`,
  );

  // Sanity (a real error, not a figure): page 1 is the newest events, by time then id.
  const { events } = await searchAudit(pool, { limit: PAGE });
  const { rows: newest } = await pool.query<{ id: string }>(
    `select id::text as id from audit_event order by ts desc, audit_event.id desc limit ${PAGE}`,
  );
  if (events.map((e) => e.id).join() !== newest.map((r) => r.id).join()) {
    throw new Error("searchAudit page 1 is not the newest events in (ts, id) order");
  }

  const now = Date.now();
  const slow: { label: string; depth: number; ms: number; plan: string }[] = [];
  console.log(
    "| filter | matching rows | keyset p.1 | keyset p.100 | keyset p.10,000 | OFFSET p.1 | OFFSET p.100 | OFFSET p.10,000 |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  let worstKeyset = 0;
  for (const c of cases(now)) {
    const { where, values } = await filterSql(pool, c.filter);
    const whereSql = where.length ? `where ${where.join(" and ")}` : "";
    const { rows: countRows } = await pool.query<{ n: string }>(
      `select count(*)::text as n from audit_event ${whereSql}`,
      values,
    );
    const matching = Number(countRows[0]!.n);
    const keyset: string[] = [];
    const offset: string[] = [];
    for (const depth of DEPTHS) {
      const skip = PAGE * (depth - 1);
      if (skip >= matching) {
        keyset.push("n/a");
        offset.push("n/a");
        continue;
      }
      let cursor: string | undefined;
      if (depth > 1) {
        // The keyset cursor of the row before the page: `<epoch ms>_<id>` (searchAudit's nextCursor).
        const { rows } = await pool.query<{ cursor: string }>(
          `select (extract(epoch from ts) * 1000)::bigint || '_' || id as cursor from audit_event ${whereSql}
            order by ts desc, audit_event.id desc offset $${values.length + 1} limit 1`,
          [...values, skip - 1],
        );
        cursor = rows[0]!.cursor;
      }
      const filter: AuditFilter = { ...c.filter, limit: PAGE, ...(cursor ? { cursor } : {}) };
      const keysetMs = await timed(() => searchAudit(pool, filter), RUNS);
      const offsetSql = `select ${AUDIT_COLUMNS} from audit_event ${whereSql} order by ts desc, audit_event.id desc limit ${PAGE + 1} offset ${skip}`;
      const offsetMs = await timed(() => pool.query(offsetSql, values), depth === 10_000 ? DEEP_OFFSET_RUNS : RUNS);
      keyset.push(fmt(keysetMs, 1));
      offset.push(fmt(offsetMs, 1));
      worstKeyset = Math.max(worstKeyset, keysetMs);
      if (keysetMs >= 50) {
        const v = [...values];
        const [ms, id] = cursor ? cursor.split("_") : [];
        const cursorClause = cursor
          ? `${where.length ? "and" : "where"} (ts, id) < ('epoch'::timestamptz + $${v.push(ms)}::bigint * interval '1 millisecond', $${v.push(id)}::bigint)`
          : "";
        const { rows: plan } = await pool.query<{ "QUERY PLAN": string }>(
          `explain (analyze, buffers, costs off) select ${AUDIT_COLUMNS} from audit_event ${whereSql} ${cursorClause} order by ts desc, audit_event.id desc limit ${PAGE + 1}`,
          v,
        );
        slow.push({ label: c.label, depth, ms: keysetMs, plan: plan.map((r) => r["QUERY PLAN"]).join("\n") });
      }
    }
    console.log(`| ${c.label} | ${fmt(matching)} | ${keyset.join(" | ")} | ${offset.join(" | ")} |`);
  }
  console.log("\n(times in ms; n/a = fewer matching rows than the page's offset)");
  console.log(`goal: every keyset page < 50 ms → worst ${fmt(worstKeyset, 1)} ms ${verdict(worstKeyset < 50)}`);

  // The overview: what GET /api/v1/audit/stats runs (app/_lib/audit/get-audit-stats.ts).
  console.log("\n| overview query | window | tenant | ms (median) |");
  console.log("|---|---|---|---:|");
  let worstOverview = 0;
  for (const window of ["hour", "day"] as const) {
    for (const tenant of [undefined, "tenant-0"]) {
      // The windows GET /api/v1/audit/stats asks for (app/_lib/audit/get-audit-stats.ts).
      const { since, until, bucketSeconds, topSince } = overviewWindow(window, new Date());
      const queries: Array<[string, () => Promise<unknown>]> = [
        ["timeline", () => auditTimeline(pool, { tenant, since, until, bucketSeconds })],
        ["top rejected origins", () => topRejectedOrigins(pool, { tenant, since: topSince, limit: 10 })],
      ];
      for (const [label, run] of queries) {
        const ms = await timed(run, RUNS);
        worstOverview = Math.max(worstOverview, ms);
        console.log(`| ${label} | ${window} | ${tenant ?? "all"} | ${fmt(ms, 1)} |`);
        if (ms >= 50) slow.push({ label: `${label}, ${window}, ${tenant ?? "all"}`, depth: 0, ms, plan: "" });
      }
    }
  }
  console.log(`goal: every overview query < 50 ms → worst ${fmt(worstOverview, 1)} ms ${verdict(worstOverview < 50)}`);
  for (const s of slow) {
    if (s.depth === 0) console.log(`\nslow overview query: ${s.label} (${fmt(s.ms, 1)} ms)`);
    else console.log(`\nslow keyset page: ${s.label}, page ${fmt(s.depth)} (${fmt(s.ms, 1)} ms); plan:\n${s.plan}`);
  }
  await pool.end();
}

runBench(main, async () => {
  // Diagnosis: BENCH_KEEP_DB=1 keeps the generated database (its URL is printed) for EXPLAIN by hand.
  if (process.env.BENCH_KEEP_DB === "1" && db) console.log(`kept database: ${db.url}`);
  else await db?.drop();
});

/**
 * False (after saying so) when the Postgres data directory is on this machine and has less
 * free space than the load needs; true otherwise (a remote server's disk cannot be checked
 * from here: said, not guessed).
 */
async function enoughDisk(pool: pg.Pool): Promise<boolean> {
  const need = ROWS * DISK_BYTES_PER_ROW;
  const gib = (n: number) => `${fmt(n / 2 ** 30, 1)} GiB`;
  let dir: string | null = null;
  try {
    const { rows } = await pool.query<{ dir: string }>("select current_setting('data_directory') as dir");
    dir = rows[0]?.dir ?? null;
  } catch {
    // not allowed to read it (not a superuser): cannot check
  }
  if (!dir || !existsSync(dir)) {
    console.log(
      `disk: the Postgres data directory is not on this machine (or not readable); the load needs about ${gib(need)} there — not checked`,
    );
    return true;
  }
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  console.log(`disk: ${gib(free)} free under ${dir} (df); the load needs about ${gib(need)}`);
  if (free < need) {
    console.log(
      `NOT RUN: not enough free disk for ${fmt(ROWS)} events (${gib(need)} needed, ${gib(free)} free). ` +
        "Free some space or run with a smaller BENCH_ROWS.",
    );
    return false;
  }
  return true;
}

/** Generates ROWS events into the migrated database (indexes dropped for the load and rebuilt), and says what it made. */
async function load(pool: pg.Pool): Promise<void> {
  const loadStarted = performance.now();
  // The 31 days' partitions, as the upkeep makes them (the migration made yesterday..+7 only).
  await pool.query(
    "select audit_event_create_partition((now() at time zone 'UTC')::date + g) from generate_series(-31, 0) as g",
  );
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    "select indexname as name, replace(indexdef, ' ON ONLY ', ' ON ') as def from pg_indexes where tablename = 'audit_event' and indexname <> 'audit_event_pkey'",
  );
  for (const index of indexes) await pool.query(`drop index "${index.name}"`);
  const client = await pool.connect();
  try {
    await client.query("select setseed(0.42)");
    await client.query("set work_mem = '256MB'");
    for (let first = 1; first <= ROWS; first += CHUNK) {
      await client.query(GENERATE, [ROWS, first, Math.min(ROWS, first + CHUNK - 1)]);
      process.stderr.write(`  generated ${fmt(Math.min(ROWS, first + CHUNK - 1))} rows\r`);
    }
    process.stderr.write("\n");
    await client.query("set maintenance_work_mem = '512MB'");
    for (const index of indexes) await client.query(index.def);
    // Diagnosis: BENCH_EXTRA_SQL="create index ..." tries an index the migrations do not have.
    if (process.env.BENCH_EXTRA_SQL) {
      await client.query(process.env.BENCH_EXTRA_SQL);
      console.log(`extra (diagnosis, not in the migrations): ${process.env.BENCH_EXTRA_SQL}`);
    }
  } finally {
    client.release();
  }
  await pool.query("vacuum analyze audit_event");
  const loadMs = performance.now() - loadStarted;
  const { rows: sizes } = await pool.query<{ rows: string; size: string; partitions: number }>(
    `select (select count(*) from audit_event)::text as rows,
            pg_size_pretty((select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'audit_event'::regclass)::bigint) as size,
            (select count(*)::int from pg_inherits where inhparent = 'audit_event'::regclass) as partitions`,
  );
  const { rows: indexSizes } = await pool.query<{ name: string; size: string }>(
    `select p.relname as name, pg_size_pretty(sum(pg_relation_size(c.oid))::bigint) as size
       from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.relkind = 'I' and p.relname like 'audit_event%' group by p.relname order by sum(pg_relation_size(c.oid)) desc`,
  );
  console.log(
    `${fmt(Number(sizes[0]!.rows))} events generated and indexed in ${fmt(loadMs / 1000, 1)} s in ${sizes[0]!.partitions} partitions ` +
      `(table + primary key + ${indexes.length} secondary indexes: ${sizes[0]!.size}; ${indexSizes.map((i) => `${i.name.replace(/^audit_event_/, "")} ${i.size}`).join(", ")}); ` +
      `page size ${PAGE}; median of ${RUNS} runs (${DEEP_OFFSET_RUNS} for OFFSET at page 10,000)`,
  );
}
