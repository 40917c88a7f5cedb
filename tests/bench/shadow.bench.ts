/**
 * bench:shadow — what shadow evaluation (SPEC §5.2) costs the gateway per handshake, against
 * the same handshakes with no staged version, in the same run.
 *
 * Processes: one real gateway (`server/main.ts`, audit on, writing to a scratch database) and
 * one load generator (tests/bench/handshake-client.ts: raw TCP, connect → upgrade → close).
 * Three tenants, the same allowed origin for all:
 *   - none:            no staged version (the hot path as before: one property read more);
 *   - shadow, same:    a shadow version that decides the same (evaluated, nothing recorded);
 *   - shadow, differs: a shadow version that refuses the origin (evaluated, and the shadow
 *                      decision written on every audit event).
 * Method: a warm-up phase per target, then ROUNDS rounds, each running every target for
 * PHASE_MS in an order rotated per round. A phase's cost is the gateway process's CPU time
 * (utime + stime from /proc/<pid>/stat) from the phase's start until the process is idle
 * again after it (so its audit writes are counted in its own phase), divided by the
 * handshakes completed. The median round per target is the figure; ratios are to `none`.
 * Run: DATABASE_URL=postgres://... npm run bench:shadow
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRollout } from "../../app/_lib/rollouts/create-rollout";
import { createPrisma } from "../../server/db/prisma";
import { createTenant } from "../helpers/fixtures";
import { type ProcessGateway, spawnGateway } from "../helpers/gateway";
import {
  type BenchDatabase,
  benchDatabase,
  fmt,
  machineLine,
  median,
  request,
  runBench,
  sleep,
  spawnBenchChild,
  stopChild,
  waitFor,
} from "./kit";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WARMUP_MS = 2000;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ORIGIN = "https://app.example.com";
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

interface Target {
  name: string;
  slug: string;
}

interface RunResult {
  completed: number;
  /** Statuses other than the expected one, by status. */
  unexpected: Record<string, number>;
  errors: number;
}

/** The load's limits must never be what a phase measures (429 rate_limited, 503 connection_limit). */
const LIMITS = { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000 };

let database: BenchDatabase | null = null;
let gateway: ProcessGateway | null = null;
let client: ChildProcess | null = null;

/** CPU seconds the process has used (user + system). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Waits until the process used less than 2% of a core over 300 ms (its audit writes done). */
async function idle(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const before = cpuSeconds(pid);
    await sleep(300);
    if (cpuSeconds(pid) - before <= 0.006) return;
  }
}

async function phase(
  target: Target,
  durationMs: number,
): Promise<{ cpuUsPerHandshake: number; rate: number; run: RunResult }> {
  const pid = gateway!.child.pid!;
  await idle(pid);
  const cpuBefore = cpuSeconds(pid);
  const run = await request<RunResult>(client!, {
    type: "run",
    port: gateway!.port,
    path: `/t/${target.slug}/bench`,
    origin: ORIGIN,
    concurrency: CONCURRENCY,
    durationMs,
    expect: 101,
  });
  await idle(pid);
  const cpu = cpuSeconds(pid) - cpuBefore;
  return {
    cpuUsPerHandshake: run.completed > 0 ? (cpu * 1e6) / run.completed : Number.NaN,
    rate: run.completed / (durationMs / 1000),
    run,
  };
}

async function main(): Promise<void> {
  database = await benchDatabase("shadow");
  console.log(`bench:shadow — ${machineLine(database.postgresVersion)}`);
  const db = createPrisma(database.url);
  const actor = { id: null, label: "bench" };
  const none = await createTenant(database.url, { policy: { origins: [ORIGIN], limits: LIMITS } });
  const same = await createTenant(database.url, { policy: { origins: [ORIGIN], limits: LIMITS } });
  const differs = await createTenant(database.url, { policy: { origins: [ORIGIN], limits: LIMITS } });
  const shadowDocument = (origins: string[]) => ({
    mode: "enforce",
    origins: origins.map((pattern) => ({ pattern })),
    limits: LIMITS,
  });
  await createRollout({
    db,
    slug: same.slug,
    input: { document: shadowDocument([ORIGIN, "https://other.example.com"]), stage: "shadow" },
    actor,
  });
  await createRollout({
    db,
    slug: differs.slug,
    input: { document: shadowDocument(["https://other.example.com"]), stage: "shadow" },
    actor,
  });
  await db.$disconnect();

  // Background work (reconciliation, heartbeats) would land in whichever phase runs: quieted.
  gateway = await spawnGateway(database.url, {
    LOG_LEVEL: "warn",
    RECONCILE_INTERVAL_MS: "600000",
    HEARTBEAT_INTERVAL_MS: "600000",
  });
  client = spawnBenchChild("handshake-client.ts");
  await waitFor(client, "ready");
  const targets: Target[] = [
    { name: "none", slug: none.slug },
    { name: "shadow, same decision", slug: same.slug },
    { name: "shadow, differs (recorded)", slug: differs.slug },
  ];
  for (const t of targets) await phase(t, WARMUP_MS);

  const results = new Map<string, Array<{ cpuUsPerHandshake: number; rate: number }>>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const t of order) {
      const r = await phase(t, PHASE_MS);
      if (Object.keys(r.run.unexpected).length > 0 || r.run.errors > 0) {
        throw new Error(
          `${t.name}: unexpected statuses ${JSON.stringify(r.run.unexpected)}, ${r.run.errors} socket errors`,
        );
      }
      results.set(t.name, [...(results.get(t.name) ?? []), r]);
      console.log(`round ${round + 1} ${t.name}: ${fmt(r.cpuUsPerHandshake, 1)} µs CPU/handshake, ${fmt(r.rate)}/s`);
    }
  }
  const base = median((results.get("none") ?? []).map((r) => r.cpuUsPerHandshake));
  console.log("\n| target | gateway CPU µs per handshake (median) | min–max | handshakes/s (median) | CPU ÷ none |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const t of targets) {
    const rs = results.get(t.name) ?? [];
    const cpu = rs.map((r) => r.cpuUsPerHandshake);
    const m = median(cpu);
    console.log(
      `| ${t.name} | ${fmt(m, 1)} | ${fmt(Math.min(...cpu), 1)}–${fmt(Math.max(...cpu), 1)} | ${fmt(median(rs.map((r) => r.rate)))} | ${(m / base).toFixed(2)} |`,
    );
  }
  console.log(
    `\n(${ROUNDS} rounds × ${PHASE_MS} ms per target, ${CONCURRENCY} handshakes in flight, one load-generator process)`,
  );
}

runBench(main, async () => {
  if (client) await stopChild(client);
  await gateway?.stop();
  await database?.drop();
});
