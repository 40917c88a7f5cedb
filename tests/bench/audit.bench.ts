/**
 * bench:audit — events per second through the gateway's audit pipeline into Postgres
 * (server/audit/pipeline.ts: record() → folding → rows encoded into a bounded queue → COPY per batch,
 * one advisory lock and one NOTIFY per batch) against a raw COPY of the same rows into the
 * same table, same run.
 *
 * Workload (pre-generated, not timed): EVENTS distinct events — 50 % accepted handshakes,
 * 30 % closes, 20 % rejections each with its own (origin, client address), so folding
 * cannot shrink them — over 20 tenants with realistic origins, user agents and paths.
 *
 * Pipeline run: record() in chunks of 1,000 with an event-loop turn between chunks (as a
 * busy gateway would), holding back while the queue is above half its bound so nothing is
 * dropped; timed from the first record() to the last row committed. Raw COPY run: one
 * `COPY audit_event (...) FROM STDIN` of the same rows (text format built in the timed
 * section too, as the pipeline builds its arrays). The table is truncated before each run;
 * runs alternate (pipeline, COPY, pipeline, COPY) and the better of each is reported.
 * Every run is checked: rows and sum(count) in the table must equal what was sent.
 *
 * Also: a folded flood (FLOOD identical rejections: same tenant, origin, reason, client),
 * timed to the last row committed, with the exact count checked.
 *
 * Schemas (issue 15, index changes): the same runs against three databases in the same run —
 * "before": migrated up to the migration before BEFORE_MIGRATION (default
 * `audit_explorer_indexes`, the explorer's indexes: the indexes as they were before it);
 * "after": every migration; "key only": the same partitioned table with every secondary index
 * dropped (the floor). (Until 2026-12-03 "before" was the table before
 * `audit_event_partitioned`; the pipeline can no longer write to it: it lacks the columns
 * added since.) BENCH_BEFORE_MIGRATION=<name> compares with the schema before another one. Reported per schema:
 * events/s and Postgres CPU per row (µs; from /proc, the database's backends and the server's
 * own processes, so other databases' background work on a shared machine can add to it).
 *
 * Goal (issue 6): ≥ 20,000 events/s and ≥ 0.5 × raw COPY.
 * Run: DATABASE_URL=postgres://... npm run bench:audit
 */
import { finished } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { createMetrics } from "../../server/admin/metrics";
import { AuditPipeline } from "../../server/audit/pipeline";
import type { AuditEventInput } from "../../server/audit/types";
import { databaseName } from "../../server/db/pg-server";
import { readMigrations } from "../../server/db/schema-engine";
import { createLogger } from "../../server/log";
import { migrateThrough } from "../helpers/migrations";
import {
  type BenchDatabase,
  benchDatabase,
  cpuBreakdown,
  cpuSnapshot,
  fmt,
  machineLine,
  runBench,
  sleep,
  verdict,
} from "./kit";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 150_000);
const FLOOD = 200_000;
const CHUNK = 1_000;

const databases: BenchDatabase[] = [];

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "okhttp/4.12.0",
];

function workload(n: number): AuditEventInput[] {
  const next = random(42);
  const now = Date.now();
  const events: AuditEventInput[] = [];
  for (let i = 0; i < n; i++) {
    const tenant = `tenant-${Math.floor(next() ** 2 * 20)}`;
    const roll = next();
    const ua = USER_AGENTS[Math.floor(next() * USER_AGENTS.length)]!;
    const base = {
      ts: now + Math.floor(i / 50),
      tenant,
      userAgent: ua,
      path: `/live/${Math.floor(next() * 100)}`,
      subprotocol: null,
      details: null,
    };
    if (roll < 0.8) {
      const origin = `https://app${Math.floor(next() * 50)}.${tenant}.example.com`;
      events.push({
        ...base,
        kind: roll < 0.5 ? "handshake" : "close",
        decision: "accepted",
        reason: "allowed",
        origin,
        originNormalized: origin,
        remoteAddr: `10.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`,
        policyVersion: 7,
        matchedPattern: `https://*.${tenant}.example.com`,
        closeCode: roll < 0.5 ? null : 1000,
        durationMs: roll < 0.5 ? null : Math.floor(next() * 600_000),
      });
    } else {
      // Distinct (origin, client) per rejection: nothing folds.
      const origin = `https://probe${i}.attacker.example`;
      events.push({
        ...base,
        kind: "handshake",
        decision: "rejected",
        reason: "origin_not_allowed",
        origin,
        originNormalized: origin,
        remoteAddr: `192.0.${(i >> 8) & 255}.${i & 255}`,
        policyVersion: 7,
        matchedPattern: null,
      });
    }
  }
  return events;
}

/** COPY text format: tab-separated, \N for null, backslash escapes. */
function copyField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "number") return String(value);
  return value.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

function copyLine(e: AuditEventInput, gatewayId: string): string {
  return `${[
    new Date(e.ts).toISOString(),
    null,
    gatewayId,
    e.kind,
    e.tenant,
    e.decision,
    e.reason,
    e.origin,
    e.originNormalized,
    e.remoteAddr,
    e.userAgent,
    e.path,
    e.subprotocol,
    e.policyVersion,
    e.matchedPattern,
    e.count ?? 1,
    e.closeCode ?? null,
    e.durationMs ?? null,
    e.details ? JSON.stringify(e.details) : null,
  ]
    .map(copyField)
    .join("\t")}\n`;
}

interface RunResult {
  ms: number;
  rows: number;
  events: number;
  cores: Record<string, number>;
}

async function checkTable(pool: pg.Pool, gatewayId: string): Promise<{ rows: number; events: number }> {
  const { rows } = await pool.query<{ rows: string; events: string | null }>(
    "select count(*) as rows, sum(count) as events from audit_event where gateway_id = $1",
    [gatewayId],
  );
  return { rows: Number(rows[0]!.rows), events: Number(rows[0]!.events ?? 0) };
}

async function runPipeline(
  pool: pg.Pool,
  events: AuditEventInput[],
  gatewayId: string,
  dbName: string,
): Promise<RunResult> {
  const pipeline = new AuditPipeline({
    pool,
    gatewayId,
    logger: createLogger({ name: "bench-audit", level: "warn" }),
    metrics: createMetrics(),
  });
  const cpuBefore = cpuSnapshot();
  const started = performance.now();
  for (let i = 0; i < events.length; i += CHUNK) {
    while (pipeline.depth > pipeline.queueMax / 2) await sleep(2);
    const end = Math.min(events.length, i + CHUNK);
    for (let j = i; j < end; j++) pipeline.record(events[j]!);
    await new Promise((r) => setImmediate(r));
  }
  while (pipeline.totals.written + pipeline.totals.dropped < pipeline.totals.recorded) {
    await pipeline.flush(true);
    await sleep(1);
  }
  const ms = performance.now() - started;
  const cores = cpuBreakdown(cpuBefore, cpuSnapshot(), { bench: [process.pid] }, dbName);
  await pipeline.stop();
  if (pipeline.totals.dropped > 0) throw new Error(`pipeline dropped ${pipeline.totals.dropped} events`);
  const check = await checkTable(pool, gatewayId);
  if (check.events !== events.length)
    throw new Error(`pipeline wrote ${check.events} events, expected ${events.length}`);
  return { ms, rows: check.rows, events: check.events, cores };
}

async function runCopy(
  pool: pg.Pool,
  events: AuditEventInput[],
  gatewayId: string,
  dbName: string,
): Promise<RunResult> {
  const client = await pool.connect();
  try {
    const cpuBefore = cpuSnapshot();
    const started = performance.now();
    const stream = client.query(
      copyFrom(
        `copy audit_event (ts, last_ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized,
           remote_addr, user_agent, path, subprotocol, policy_version, matched_pattern, count, close_code,
           duration_ms, details) from stdin`,
      ),
    );
    let buffer = "";
    for (const e of events) {
      buffer += copyLine(e, gatewayId);
      if (buffer.length > 64 * 1024) {
        if (!stream.write(buffer)) await new Promise((r) => stream.once("drain", r));
        buffer = "";
      }
    }
    stream.end(buffer);
    await finished(stream);
    const ms = performance.now() - started;
    const cores = cpuBreakdown(cpuBefore, cpuSnapshot(), { bench: [process.pid] }, dbName);
    const check = await checkTable(pool, gatewayId);
    if (check.events !== events.length) throw new Error(`COPY wrote ${check.events} rows, expected ${events.length}`);
    return { ms, rows: check.rows, events: check.events, cores };
  } finally {
    client.release();
  }
}

async function runFlood(pool: pg.Pool, gatewayId: string, dbName: string): Promise<RunResult> {
  const pipeline = new AuditPipeline({
    pool,
    gatewayId,
    logger: createLogger({ name: "bench-audit", level: "warn" }),
    metrics: createMetrics(),
  });
  const cpuBefore = cpuSnapshot();
  const started = performance.now();
  for (let i = 0; i < FLOOD; i += 5_000) {
    for (let j = 0; j < 5_000; j++) {
      pipeline.record({
        ts: Date.now(),
        kind: "handshake",
        tenant: "tenant-0",
        decision: "rejected",
        reason: "origin_not_allowed",
        origin: "https://evil.example",
        originNormalized: "https://evil.example",
        remoteAddr: "203.0.113.9",
        userAgent: USER_AGENTS[0]!,
        path: "/live",
        subprotocol: null,
        policyVersion: 7,
        matchedPattern: null,
      });
    }
    await new Promise((r) => setImmediate(r));
  }
  // The last fold window closes up to a second later; flush(true) closes it now.
  await pipeline.flush(true);
  while (pipeline.totals.written < FLOOD) {
    await pipeline.flush(true);
    await sleep(1);
  }
  const ms = performance.now() - started;
  const cores = cpuBreakdown(cpuBefore, cpuSnapshot(), { bench: [process.pid] }, dbName);
  await pipeline.stop();
  const check = await checkTable(pool, gatewayId);
  if (check.events !== FLOOD) throw new Error(`flood: ${check.events} events counted, expected ${FLOOD}`);
  return { ms, rows: check.rows, events: check.events, cores };
}

interface Schema {
  label: string;
  url: string;
  pool: pg.Pool;
  pipelineRuns: RunResult[];
  copyRuns: RunResult[];
}

const BEFORE_MIGRATION = process.env.BENCH_BEFORE_MIGRATION ?? "audit_explorer_indexes";

/** The migrations up to (not including) BEFORE_MIGRATION, as the release before it left the table. */
async function migrateBefore(url: string): Promise<void> {
  const folders = await readMigrations();
  const index = folders.findIndex((f) => f.name.endsWith(`_${BEFORE_MIGRATION}`));
  if (index < 1) throw new Error(`no migration named *_${BEFORE_MIGRATION} (BENCH_BEFORE_MIGRATION)`);
  await migrateThrough(url, folders[index - 1]!.name);
}

async function main(): Promise<void> {
  const after = await benchDatabase("audit");
  databases.push(after);
  const before = await benchDatabase("audit_before", migrateBefore);
  databases.push(before);
  const keyOnly = await benchDatabase("audit_keyonly");
  databases.push(keyOnly);
  console.log(`bench:audit — ${machineLine(after.postgresVersion)}`);
  console.log(
    `${fmt(EVENTS)} distinct events (50 % accepted, 30 % close, 20 % rejected with distinct origin+client), 20 tenants; ` +
      `pipeline defaults (batch 5,000 rows, flush 100 ms, queue bound 100,000); table truncated before each run\n`,
  );
  const schemas: Schema[] = [
    { label: "after: every migration", url: after.url },
    { label: `before: the migrations before ${BEFORE_MIGRATION}`, url: before.url },
    { label: "key only: partitioned, primary key alone", url: keyOnly.url },
  ].map((s) => ({ ...s, pool: new pg.Pool({ connectionString: s.url, max: 4 }), pipelineRuns: [], copyRuns: [] }));
  const keyOnlyPool = schemas[2]!.pool;
  const { rows: secondary } = await keyOnlyPool.query<{ name: string }>(
    "select indexname as name from pg_indexes where tablename = 'audit_event' and indexname <> 'audit_event_pkey'",
  );
  for (const index of secondary) await keyOnlyPool.query(`drop index "${index.name}"`);
  for (const s of schemas) {
    const { rows } = await s.pool.query<{ n: number }>(
      "select count(*)::int as n from pg_indexes where tablename = 'audit_event'",
    );
    s.label += ` (${rows[0]!.n} indexes on audit_event)`;
  }
  const events = workload(EVENTS);

  // Warm-up (JIT, plan caches, table and index pages).
  for (const s of schemas) {
    await runPipeline(s.pool, events.slice(0, 20_000), "warm-pipeline", databaseName(s.url));
    await runCopy(s.pool, events.slice(0, 20_000), "warm-copy", databaseName(s.url));
  }
  for (let round = 0; round < 2; round++) {
    for (const s of schemas) {
      await s.pool.query("truncate audit_event");
      s.pipelineRuns.push(await runPipeline(s.pool, events, `pipeline-${round}`, databaseName(s.url)));
      await s.pool.query("truncate audit_event");
      s.copyRuns.push(await runCopy(s.pool, events, `copy-${round}`, databaseName(s.url)));
    }
  }
  const current = schemas[0]!;
  await current.pool.query("truncate audit_event");
  const flood = await runFlood(current.pool, "flood", databaseName(current.url));

  const rate = (r: RunResult) => r.events / (r.ms / 1000);
  const best = (runs: RunResult[]) => runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const cores = (r: RunResult) =>
    `${fmt(r.cores.bench ?? 0, 2)} / ${fmt(r.cores.postgres ?? 0, 2)} / ${fmt(r.cores.other ?? 0, 2)}`;
  const pgMicros = (r: RunResult) => ((r.cores.postgres ?? 0) * r.ms * 1000) / r.rows;
  console.log(`schema: ${current.label}`);
  console.log(
    "| path | events | rows written | time (best run) | events/s (best) | events/s (other run) | cores: bench process / postgres / other |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const p = best(current.pipelineRuns);
  const c = best(current.copyRuns);
  const other = (runs: RunResult[], b: RunResult) => rate(runs.find((r) => r !== b) ?? b);
  console.log(
    `| pipeline: record() → batched COPY | ${fmt(p.events)} | ${fmt(p.rows)} | ${fmt(p.ms)} ms | ${fmt(rate(p))} | ${fmt(other(current.pipelineRuns, p))} | ${cores(p)} |`,
  );
  console.log(
    `| raw COPY … FROM STDIN (same rows) | ${fmt(c.events)} | ${fmt(c.rows)} | ${fmt(c.ms)} ms | ${fmt(rate(c))} | ${fmt(other(current.copyRuns, c))} | ${cores(c)} |`,
  );
  console.log(
    `| pipeline, folded flood (identical rejections) | ${fmt(flood.events)} | ${fmt(flood.rows)} | ${fmt(flood.ms)} ms | ${fmt(rate(flood))} | — | ${cores(flood)} |`,
  );
  const ratio = rate(p) / rate(c);
  console.log("");
  console.log(`ratio: pipeline ÷ raw COPY = ${ratio.toFixed(2)}`);
  console.log(
    `counts: every run's sum(count) equals the events sent (flood: ${fmt(FLOOD)} events in ${flood.rows} rows)`,
  );
  console.log(`goal: ≥ 20,000 events/s → ${fmt(rate(p))} ${verdict(rate(p) >= 20_000)}`);
  console.log(`goal: ≥ 0.5 × raw COPY → ${ratio.toFixed(2)} ${verdict(ratio >= 0.5)}`);

  console.log(
    "\nWrite cost per schema (same events, same run; best of 2 runs each; Postgres µs = its CPU per row written):\n",
  );
  console.log(
    "| schema | pipeline events/s | raw COPY events/s | Postgres µs/row, pipeline | Postgres µs/row, raw COPY |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const s of schemas) {
    const sp = best(s.pipelineRuns);
    const sc = best(s.copyRuns);
    console.log(
      `| ${s.label} | ${fmt(rate(sp))} | ${fmt(rate(sc))} | ${fmt(Math.min(...s.pipelineRuns.map(pgMicros)), 1)} | ${fmt(Math.min(...s.copyRuns.map(pgMicros)), 1)} |`,
    );
  }
  for (const s of schemas) await s.pool.end();
}

runBench(main, async () => {
  for (const d of databases) await d.drop();
});
