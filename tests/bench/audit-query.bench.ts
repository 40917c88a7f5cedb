/**
 * bench:audit-query — the audit history query (`searchAudit` in server/db/audit-queries.ts:
 * filters, newest first, keyset on id, page size 50) on ROWS generated events, keyset
 * against OFFSET at page 1, 100 and 10,000 (offset 0, 4,950 and 499,950 rows).
 *
 * Data (generated in SQL with generate_series, seeded, ids ascending with time over 30
 * days): 20 tenants with a skewed spread (the largest ~38 % of rows), 70 % accepted
 * (handshake and close), 27 % rejected (origin_not_allowed most, then origin_missing,
 * rate_limited, credentials_forbidden, token_invalid, connection_limit, origin_malformed),
 * 3 % report-only; allowed origins per tenant, a long tail of attacker origins; folded
 * rejection counts. Secondary indexes are dropped for the load and recreated from their
 * own definitions (pg_indexes), then ANALYZE — the same indexes the migrations create.
 *
 * Method: for each filter and depth, the keyset cursor is the (ts, id) of the last row of the
 * previous page (found untimed); each query runs RUNS times and the median wall time of
 * the call is reported (searchAudit itself for keyset: zod parsing, SQL, row mapping; the
 * same SQL with OFFSET and the same mapping for the comparison). A keyset page over 50 ms
 * gets its plan printed (EXPLAIN ANALYZE) so the missing index can be named.
 *
 * Goal (issue 6): every keyset page under 50 ms.
 * Run: DATABASE_URL=postgres://... npm run bench:audit-query
 */
import pg from "pg";
import {
  AUDIT_COLUMNS,
  type AuditFilter,
  auditFilterSchema,
  auditWhere,
  searchAudit,
} from "../../server/db/audit-queries";
import { type BenchDatabase, benchDatabase, fmt, machineLine, median, runBench, verdict } from "./kit";

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
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
             (case when r1 < 0.32 then 'close' else 'handshake' end)::audit_kind as kind
      from (
        select now() - interval '30 days' + g * (interval '30 days' / $1) as ts,
               'gw-' || (g % 3) as gw,
               random() as r0, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5
        from generate_series(1, $1::int) as g
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
    { label: "decision = rejected", filter: { decision: "rejected" } },
    { label: "tenant + decision = rejected", filter: { tenant: "tenant-0", decision: "rejected" } },
    { label: "tenant + reason = token_invalid (rare)", filter: { tenant: "tenant-3", reason: "token_invalid" } },
    { label: "origin (frequent attacker)", filter: { origin: "https://evil0.example.net" } },
    { label: "origin (rare, malformed as sent)", filter: { origin: "null-ish origin 7" } },
    { label: "kind = close", filter: { kind: "close" } },
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
  ];
}

function filterSql(filter: Case["filter"]): { where: string[]; values: unknown[] } {
  const values: unknown[] = [];
  const f = auditFilterSchema.parse(filter);
  return { where: auditWhere(f, values), values };
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
  db = await benchDatabase("auditq");
  console.log(`bench:audit-query — ${machineLine(db.postgresVersion)}`);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });

  const loadStarted = performance.now();
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    "select indexname as name, indexdef as def from pg_indexes where tablename = 'audit_event' and indexname <> 'audit_event_pkey'",
  );
  for (const index of indexes) await pool.query(`drop index "${index.name}"`);
  const client = await pool.connect();
  try {
    await client.query("select setseed(0.42)");
    await client.query("set work_mem = '256MB'");
    await client.query(GENERATE, [ROWS]);
    await client.query("set maintenance_work_mem = '256MB'");
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
  const { rows: sizes } = await pool.query<{ rows: string; size: string }>(
    "select count(*)::text as rows, pg_size_pretty(pg_total_relation_size('audit_event')) as size from audit_event",
  );
  console.log(
    `${fmt(Number(sizes[0]!.rows))} events generated and indexed in ${fmt(loadMs / 1000, 1)} s (table + ${indexes.length} secondary indexes: ${sizes[0]!.size}); ` +
      `page size ${PAGE}; median of ${RUNS} runs (${DEEP_OFFSET_RUNS} for OFFSET at page 10,000)\n`,
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
    const { where, values } = filterSql(c.filter);
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
  for (const s of slow) {
    console.log(`\nslow keyset page: ${s.label}, page ${fmt(s.depth)} (${fmt(s.ms, 1)} ms); plan:\n${s.plan}`);
  }
  await pool.end();
}

runBench(main, async () => {
  await db?.drop();
});
