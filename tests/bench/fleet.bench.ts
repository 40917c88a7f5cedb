/**
 * bench:fleet — how many gateways one Postgres serves (issue 15, item 6): for each fleet size
 * (BENCH_FLEET_SIZES, default "10,20,30" — as many gateway processes as this 2-core machine
 * holds), starts that many gateway processes (tests/bench/gateway-process.ts: the real
 * Gateway, default intervals: reconciliation 3 s, heartbeat 5 s), commits CHANGES policy
 * changes and reports:
 *  - commit → enforcement per gateway, p50/p99 over every (change, gateway): the moment the
 *    gateway starts enforcing the new version (its policy store's `applied` event, sent
 *    over IPC with a wall-clock time) minus the moment COMMIT was sent (same clock, same
 *    machine). Each change is also checked from outside: one real handshake from the newly
 *    allowed origin at one gateway (in turn) must answer 101;
 *  - Postgres connections per gateway, from pg_stat_activity by application_name (every
 *    gateway's connections carry its id), sampled every SAMPLE_MS during the run: the
 *    highest count any gateway reached, and the fleet's total;
 *  - RSS per gateway (/proc/<pid>/status VmRSS) at the end, and CPU per gateway (/proc
 *    ticks) while idle between changes and over the change phase;
 * and extrapolates to EXTRAPOLATE_TO gateways against max_connections = 250.
 *
 * Changes are what every writer does (as bench:propagation): one transaction that bumps the
 * version, replaces the allowlist and adds a revision; the trigger sends the NOTIFY.
 * Run: DATABASE_URL=postgres://... npm run bench:fleet
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import pg from "pg";
import { defaultPolicyDocument } from "../../server/policy";
import { createTenant } from "../helpers/fixtures";
import {
  type BenchDatabase,
  benchDatabase,
  fmt,
  machineLine,
  percentile,
  probeHandshake,
  runBench,
  sleep,
  spawnBenchChild,
  stopChild,
  verdict,
  waitFor,
} from "./kit";

const SIZES = (process.env.BENCH_FLEET_SIZES ?? "10,20,30").split(",").map(Number);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 40);
const IDLE_MS = 10_000;
const SAMPLE_MS = 250;
const TIMEOUT_MS = 10_000;
const EXTRAPOLATE_TO = 100;
const MAX_CONNECTIONS = 250;
/** The dashboard's Prisma pool (server/db/prisma.ts) plus a margin for admin sessions, migrations, psql. */
const DASHBOARD_AND_MARGIN = 10 + 10;
const CLK_TCK = 100;
const LIMITS = { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000 };

let db: BenchDatabase | null = null;

function procTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function procRssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

interface FleetResult {
  size: number;
  latencies: number[];
  timeouts: number;
  probeFailures: number;
  maxPerGateway: number;
  maxFleet: number;
  rssMiB: number[];
  idleCpuPct: number;
  changeCpuPct: number;
  startS: number;
}

async function runFleet(size: number, tenantId: string, writer: pg.Client, monitor: pg.Client): Promise<FleetResult> {
  const startedAt = Date.now();
  const ids = Array.from({ length: size }, (_, i) => `gw-fleet-${size}-${i + 1}`);
  const gateways: ChildProcess[] = ids.map((id) =>
    spawnBenchChild("gateway-process.ts", {
      env: { DATABASE_URL: db!.url, LOG_LEVEL: "warn", GATEWAY_ID: id, BENCH_REPORT_APPLIED: "1" },
    }),
  );
  const ports = (await Promise.all(gateways.map((g) => waitFor<{ port: number }>(g, "ready", 300_000)))).map(
    (r) => r.port,
  );
  const startS = (Date.now() - startedAt) / 1000;
  const pids = gateways.map((g) => g.pid!);

  // version → per gateway, when it started enforcing it.
  const appliedAt = new Map<number, (number | null)[]>();
  gateways.forEach((g, i) => {
    g.on("message", (m: { type?: string; version?: number | null; at?: number }) => {
      if (m.type !== "applied" || m.version == null) return;
      const row = appliedAt.get(m.version);
      if (row && row[i] === null) row[i] = m.at!;
    });
  });

  // Connections per gateway, sampled throughout.
  let sampling = true;
  let maxPerGateway = 0;
  let maxFleet = 0;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await monitor.query<{ gw: string; n: number }>(
        `select substring(application_name from 'gw-fleet-${size}-[0-9]+$') as gw, count(*)::int as n
           from pg_stat_activity where application_name like $1 group by 1`,
        [`%gw-fleet-${size}-%`],
      );
      for (const r of rows) maxPerGateway = Math.max(maxPerGateway, r.n);
      maxFleet = Math.max(
        maxFleet,
        rows.reduce((n, r) => n + r.n, 0),
      );
      await sleep(SAMPLE_MS);
    }
  })();

  // Idle cost: nothing happens but the gateways' own timers.
  const idleT0 = pids.map(procTicks);
  await sleep(IDLE_MS);
  const idleT1 = pids.map(procTicks);

  const latencies: number[] = [];
  let timeouts = 0;
  let probeFailures = 0;
  const changeStart = performance.now();
  const changeT0 = pids.map(procTicks);
  for (let i = 0; i < CHANGES; i++) {
    const origin = `https://f${size}-${i}.example.com`;
    const doc = {
      ...defaultPolicyDocument(),
      origins: [{ pattern: origin }],
      limits: { ...defaultPolicyDocument().limits, ...LIMITS },
    };
    await writer.query("begin");
    const { rows } = await writer.query<{ version: number }>(
      "update policy set version = version + 1, updated_at = now(), updated_by = 'bench' where tenant_id = $1 returning version",
      [tenantId],
    );
    const version = rows[0]!.version;
    await writer.query("delete from allowed_origin where tenant_id = $1", [tenantId]);
    await writer.query(
      "insert into allowed_origin (id, tenant_id, pattern, note, expires_at) values (gen_random_uuid(), $1, $2, null, null)",
      [tenantId, origin],
    );
    await writer.query(
      "insert into policy_revision (id, tenant_id, version, document, author) values (gen_random_uuid(), $1, $2, $3, 'bench')",
      [tenantId, version, JSON.stringify(doc)],
    );
    const row: (number | null)[] = Array(size).fill(null);
    appliedAt.set(version, row);
    const t0 = performance.timeOrigin + performance.now();
    await writer.query("commit");
    const deadline = Date.now() + TIMEOUT_MS;
    while (row.some((t) => t === null) && Date.now() < deadline) await sleep(2);
    for (const at of row) {
      if (at === null) timeouts++;
      latencies.push(at === null ? TIMEOUT_MS : at - t0);
    }
    // From outside: the new origin is enforced at one gateway (in turn).
    if ((await probeHandshake(ports[i % size]!, origin, 5000)) !== 101) probeFailures++;
    await sleep(200 + (i % 5) * 50);
  }
  const changeT1 = pids.map(procTicks);
  const changeMs = performance.now() - changeStart;
  sampling = false;
  await sampler;
  const rssMiB = pids.map(procRssMiB);
  await Promise.all(gateways.map((g) => stopChild(g)));

  const cpuPct = (t0: number[], t1: number[], ms: number) =>
    (t1.reduce((n, t, i) => n + (t - t0[i]!), 0) / size / CLK_TCK / (ms / 1000)) * 100;
  return {
    size,
    latencies: latencies.sort((a, b) => a - b),
    timeouts,
    probeFailures,
    maxPerGateway,
    maxFleet,
    rssMiB,
    idleCpuPct: cpuPct(idleT0, idleT1, IDLE_MS),
    changeCpuPct: cpuPct(changeT0, changeT1, changeMs),
    startS,
  };
}

async function main(): Promise<void> {
  db = await benchDatabase("fleet");
  console.log(`bench:fleet — ${machineLine(db.postgresVersion)}`);
  console.log(
    `fleet sizes ${SIZES.join(", ")}; ${CHANGES} policy changes per size (200–400 ms apart), after ${IDLE_MS / 1000} s idle; ` +
      `connections sampled every ${SAMPLE_MS} ms from pg_stat_activity\n`,
  );
  const tenant = await createTenant(db.url, { slug: "bench", policy: { origins: [], limits: LIMITS } });
  const writer = new pg.Client({ connectionString: db.url, application_name: "bench-writer" });
  const monitor = new pg.Client({ connectionString: db.url, application_name: "bench-monitor" });
  await Promise.all([writer.connect(), monitor.connect()]);
  const { rows: mc } = await monitor.query<{ max_connections: string }>("show max_connections");

  const results: FleetResult[] = [];
  for (const size of SIZES) {
    const r = await runFleet(size, tenant.id, writer, monitor);
    results.push(r);
    console.error(`  ${size} gateways: p99 ${fmt(percentile(r.latencies, 99), 1)} ms`);
  }
  await Promise.all([writer.end(), monitor.end()]);

  console.log(
    "| gateways | commit → enforcement p50 / p99 / max (ms) | not enforced in 10 s | outside probe ≠ 101 | PG connections: max per gateway / fleet total | RSS per gateway, mean (MiB) | CPU per gateway: idle / during changes (% of a core) | start (s) |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const rss = r.rssMiB.reduce((a, b) => a + b, 0) / r.rssMiB.length;
    console.log(
      `| ${r.size} | ${fmt(percentile(r.latencies, 50), 1)} / ${fmt(percentile(r.latencies, 99), 1)} / ${fmt(r.latencies.at(-1)!, 1)} | ${r.timeouts} | ${r.probeFailures} | ${r.maxPerGateway} / ${r.maxFleet} | ${fmt(rss, 0)} | ${fmt(r.idleCpuPct, 2)} / ${fmt(r.changeCpuPct, 2)} | ${fmt(r.startS, 1)} |`,
    );
  }
  const largest = results.at(-1)!;
  const perGateway = Math.max(...results.map((r) => r.maxPerGateway));
  const needed = EXTRAPOLATE_TO * perGateway + DASHBOARD_AND_MARGIN;
  const rss = largest.rssMiB.reduce((a, b) => a + b, 0) / largest.rssMiB.length;
  console.log("");
  console.log(`this server: max_connections = ${mc[0]?.max_connections}`);
  console.log(
    `extrapolation to ${EXTRAPOLATE_TO} gateways: ${EXTRAPOLATE_TO} × ${perGateway} connections + ${DASHBOARD_AND_MARGIN} (dashboard pool 10, margin 10) = ${needed} ` +
      `≤ max_connections ${MAX_CONNECTIONS} → ${verdict(needed <= MAX_CONNECTIONS)}; ` +
      `memory ≈ ${fmt((EXTRAPOLATE_TO * rss) / 1024, 1)} GiB RSS; idle CPU ≈ ${fmt((EXTRAPOLATE_TO * largest.idleCpuPct) / 100, 2)} cores across hosts`,
  );
  const worstP99 = Math.max(...results.map((r) => percentile(r.latencies, 99)));
  console.log(`goal: at most 2 Postgres connections per gateway → ${perGateway} ${verdict(perGateway <= 2)}`);
  console.log(
    `goal: propagation p99 < 100 ms (every fleet size) → worst ${fmt(worstP99, 1)} ms ${verdict(worstP99 < 100)}`,
  );
}

runBench(main, async () => {
  await db?.drop();
});
