/**
 * bench:handshake — handshakes per second through the gateway (accepted path, and the
 * rejected path `origin_not_allowed`) against a bare `ws` server (noServer + http
 * `upgrade`, accepts everything) on the same machine, same client, same run.
 *
 * Processes: the gateway (tests/bench/gateway-process.ts: the real Gateway, audit pipeline
 * on, writing to a scratch database), the bare server (tests/bench/bare-server.ts) and
 * CLIENTS load-generator processes (tests/bench/handshake-client.ts: raw TCP, connect →
 * upgrade → close handshake → FIN, CONCURRENCY in flight each). This process only
 * orchestrates, so no server shares an event loop with the load.
 *
 * Method: a warm-up phase per target (closed loop, whatever BENCH_RATE), then ROUNDS rounds; each round runs every target
 * for PHASE_MS, in an order rotated per round (so background noise on the shared machine
 * spreads over all targets). Before each phase the gateway's audit queue must be empty,
 * so audit writes of one phase never run during another target's phase; the time the
 * queue took to drain after a gateway phase is reported. The median round per target is
 * the figure; min–max is the spread. Server CPU time per handshake comes from the server
 * process's utime + stime in /proc/<pid>/stat (that process only: Postgres, the clients
 * and this orchestrator are not in it), divided by the handshakes completed in the phase.
 *
 * Goals (issue 15, restating issue 4's as a cost the gateway controls, SPEC §9): the
 * gateway process's CPU per accepted handshake, audit trail included, at most 1.5 × the
 * bare server's; the rejected path at least as fast as the bare server (throughput ratio).
 * The throughput ratios gateway ÷ bare of both paths are reported as before. Extras (not the goal): the rejected
 * path against the bare server refusing the same origin the way ws's verifyClient does;
 * and "bare ws + audit trail only" — the bare server plus exactly the audit trail SPEC §6
 * requires of any gateway (every accepted handshake and every close through the gateway's
 * own AuditPipeline into the same Postgres), i.e. the ceiling for the accepted path on
 * this machine whatever the gateway's own code costs.
 * Diagnosis only (never goal figures), BENCH_DIAG: "no-audit" / "no-audit-db" (gateway
 * without audit, or without its Postgres writes; see gateway-process.ts),
 * "bare-audit-no-db" (the audit-only server without its Postgres writes).
 * AUDIT_FLUSH_MS (diagnosis) sets the audit batch interval of the gateway and of the
 * audit-only server alike.
 * BENCH_RATE=<n> offers every target the same n handshakes per second (open loop, at most
 * CLIENTS × CONCURRENCY in flight) instead of as many as it can take: CPU per handshake is
 * then compared for the same work per second, not each server at its own saturation.
 * Before the warm-up every server's idle CPU is read over BENCH_IDLE_MS with no traffic (its
 * background work: at an offered rate it is charged to every handshake). The CPU figure per
 * target is the median over the rounds (with an offered rate every round has the same
 * throughput), and the per-round ratios are printed (same round = closest in time).
 * BENCH_PAIRED=1: see below.
 * Run: DATABASE_URL=postgres://... npm run bench:handshake
 */
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import { databaseName } from "../../server/db/pg-server";
import { createTenant } from "../helpers/fixtures";
import {
  type BenchDatabase,
  benchDatabase,
  cpuBreakdown,
  cpuSnapshot,
  fmt,
  machineLine,
  median,
  request,
  runBench,
  sleep,
  spawnBenchChild,
  stopChild,
  verdict,
  waitFor,
} from "./kit";

/**
 * BENCH_PAIRED=1 (needs BENCH_RATE): after the warm-up, every round drives the three accepting
 * servers (bare, gateway, bare + audit trail) at the same time, one client process each at
 * BENCH_RATE, and reads their CPU over the same window, so load from outside the bench falls
 * on all of them alike (with phases in sequence it lands on whichever runs then).
 */
const PAIRED = process.env.BENCH_PAIRED === "1";
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? (PAIRED ? 3 : 2));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WARMUP_MS = 2500;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5000);
/** BENCH_RATE: total handshakes per second offered to every target (open loop); unset = as fast as possible. */
const RATE = Number(process.env.BENCH_RATE ?? 0);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_IDLE_MS: how long every server's CPU is read with no traffic before the warm-up (0 = skip). */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const ALLOWED_ORIGIN = "https://app.example.com";
/** Refused by the gateway (not in the allowlist) and by the bare server's verifyClient-style check. */
const REFUSED_ORIGIN = "https://refused.example";
/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLK_TCK = 100;

interface Target {
  key: string;
  label: string;
  server: "gateway" | "bare" | "bareAudit";
  origin: string;
  expect: number;
}

const ALL_TARGETS: Target[] = [
  { key: "bare", label: "bare ws, accept", server: "bare", origin: ALLOWED_ORIGIN, expect: 101 },
  { key: "gw-accept", label: "gateway, accepted", server: "gateway", origin: ALLOWED_ORIGIN, expect: 101 },
  {
    key: "gw-reject",
    label: "gateway, rejected (origin_not_allowed)",
    server: "gateway",
    origin: REFUSED_ORIGIN,
    expect: 403,
  },
  { key: "bare-reject", label: "bare ws, verifyClient 403", server: "bare", origin: REFUSED_ORIGIN, expect: 403 },
  {
    key: "bare-audit",
    label: "bare ws + audit trail only",
    server: "bareAudit",
    origin: ALLOWED_ORIGIN,
    expect: 101,
  },
];
/** BENCH_ONLY=gw-accept,bare (keys above) runs a subset, e.g. while profiling. */
const TARGETS = process.env.BENCH_ONLY
  ? ALL_TARGETS.filter((t) => process.env.BENCH_ONLY!.split(",").includes(t.key))
  : ALL_TARGETS;

interface RunAnswer {
  completed: number;
  errors: number;
  unexpected: Record<string, number>;
  p50: number;
  p99: number;
}

interface Stats {
  cpu: NodeJS.CpuUsage;
  audit?: { recorded: number; written: number; dropped: number; rows: number; depth: number };
}

interface PhaseResult {
  rate: number;
  serverCpuUsPerHandshake: number;
  /** Cores busy during the phase: server, clients, postgres (bench db + its background processes), other, machine. */
  cores: Record<string, number>;
  p50: number;
  p99: number;
  errors: number;
  unexpected: Record<string, number>;
}

let db: BenchDatabase | null = null;

async function auditDrained(gateway: ChildProcess): Promise<{ ms: number; stats: Stats }> {
  const started = Date.now();
  for (;;) {
    const stats = await request<Stats>(gateway, { type: "stats" });
    if (stats.audit && stats.audit.depth === 0) return { ms: Date.now() - started, stats };
    if (Date.now() - started > 60_000) throw new Error("gateway audit queue did not drain within 60 s");
    await sleep(50);
  }
}

async function phase(
  target: Target,
  ports: Record<Target["server"], number>,
  servers: Record<Target["server"], ChildProcess>,
  clients: ChildProcess[],
  durationMs: number,
  rate = RATE,
): Promise<PhaseResult> {
  const server = servers[target.server];
  const cpuBefore = cpuSnapshot();
  const answers = await Promise.all(
    clients.map((client) =>
      request<RunAnswer>(client, {
        type: "run",
        port: ports[target.server],
        path: "/t/bench/live?room=1",
        origin: target.origin,
        concurrency: CONCURRENCY,
        durationMs,
        expect: target.expect,
        ratePerSecond: rate / CLIENTS,
      }),
    ),
  );
  const cpuAfter = cpuSnapshot();
  const completed = answers.reduce((n, a) => n + a.completed, 0);
  // /proc ticks of the server process alone (CLK_TCK = 100 on Linux: 10 ms resolution).
  const ticks = (snap: ReturnType<typeof cpuSnapshot>) => snap.processes.get(server.pid!)?.ticks ?? Number.NaN;
  const cpuUs = ((ticks(cpuAfter) - ticks(cpuBefore)) * 1_000_000) / CLK_TCK;
  const unexpected: Record<string, number> = {};
  for (const a of answers) for (const [k, v] of Object.entries(a.unexpected)) unexpected[k] = (unexpected[k] ?? 0) + v;
  return {
    rate: completed / (durationMs / 1000),
    serverCpuUsPerHandshake: cpuUs / Math.max(1, completed),
    cores: cpuBreakdown(
      cpuBefore,
      cpuAfter,
      { server: [server.pid!], clients: clients.map((c) => c.pid!) },
      databaseName(db!.url),
    ),
    p50: median(answers.map((a) => a.p50)),
    p99: Math.max(...answers.map((a) => a.p99)),
    errors: answers.reduce((n, a) => n + a.errors, 0),
    unexpected,
  };
}

/** BENCH_PAIRED: bare, gateway and bare + audit trail driven at once, CPU per handshake over the same window. */
async function pairedRounds(
  ports: Record<Target["server"], number>,
  servers: Record<Target["server"], ChildProcess>,
  clients: ChildProcess[],
): Promise<void> {
  if (!RATE) throw new Error("BENCH_PAIRED needs BENCH_RATE (the same offered rate for every server)");
  if (clients.length < 3) throw new Error("BENCH_PAIRED needs BENCH_CLIENTS ≥ 3 (one client process per server)");
  const order = ["bare", "gateway", "bareAudit"] as const;
  const rows: Record<(typeof order)[number], number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all([auditDrained(servers.gateway), auditDrained(servers.bareAudit)]);
    const before = cpuSnapshot();
    const answers = await Promise.all(
      order.map((server, i) =>
        request<RunAnswer>(clients[i]!, {
          type: "run",
          port: ports[server],
          path: "/t/bench/live?room=1",
          origin: ALLOWED_ORIGIN,
          concurrency: CONCURRENCY * 2,
          durationMs: PHASE_MS,
          expect: 101,
          ratePerSecond: RATE,
        }),
      ),
    );
    const after = cpuSnapshot();
    const row = {} as Record<(typeof order)[number], number>;
    order.forEach((server, i) => {
      const pid = servers[server].pid!;
      const ticks = (after.processes.get(pid)?.ticks ?? Number.NaN) - (before.processes.get(pid)?.ticks ?? Number.NaN);
      row[server] = (ticks * 1_000_000) / CLK_TCK / Math.max(1, answers[i]!.completed);
    });
    const bad = answers.reduce((n, a) => n + a.errors + Object.values(a.unexpected).reduce((x, y) => x + y, 0), 0);
    const load = os.loadavg()[0]!.toFixed(2);
    console.log(
      `| ${round + 1} | ${answers.map((a) => fmt(a.completed / (PHASE_MS / 1000))).join(" / ")} | ${fmt(row.bare)} | ${fmt(row.gateway)} | ${fmt(row.bareAudit)} | ${(row.gateway / row.bare).toFixed(2)} | ${(row.bareAudit / row.bare).toFixed(2)} | ${load} | ${bad} |`,
    );
    rows.push(row);
  }
  const ratio = median(rows.map((r) => r.gateway / r.bare));
  const auditOnly = median(rows.map((r) => r.bareAudit / r.bare));
  console.log(
    `\npaired: CPU per accepted handshake, gateway ÷ bare = ${ratio.toFixed(2)} (median of ${rows.length} rounds); ` +
      `bare ws + audit trail only ÷ bare = ${auditOnly.toFixed(2)}; gateway ÷ (bare + audit trail) = ${median(rows.map((r) => r.gateway / r.bareAudit)).toFixed(2)}`,
  );
  console.log(`goal: CPU per accepted handshake ≤ 1.5 × bare → ${ratio.toFixed(2)} ${verdict(ratio <= 1.5)}`);
}

async function main(): Promise<void> {
  db = await benchDatabase("handshake");
  console.log(`bench:handshake — ${machineLine(db.postgresVersion)}`);
  console.log(
    `clients: ${CLIENTS} processes × ${CONCURRENCY} concurrent (raw TCP: connect, upgrade, close frame, FIN); ` +
      `warm-up ${WARMUP_MS} ms per target (closed loop); ${ROUNDS} rounds × ${PHASE_MS} ms per target` +
      `${RATE ? `; open loop: ${fmt(RATE)} handshakes/s offered to every target` : ""}\n`,
  );
  await createTenant(db.url, {
    slug: "bench",
    policy: {
      origins: [ALLOWED_ORIGIN, "https://*.example.org"],
      limits: { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000 },
    },
  });

  const gateway = spawnBenchChild("gateway-process.ts", {
    env: {
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
      GATEWAY_ID: "gw-bench-handshake",
      ...(process.env.BENCH_DIAG ? { BENCH_DIAG: process.env.BENCH_DIAG } : {}),
      ...(process.env.AUDIT_FLUSH_MS ? { AUDIT_FLUSH_MS: process.env.AUDIT_FLUSH_MS } : {}),
    },
    // e.g. BENCH_GATEWAY_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway.
    nodeFlags: process.env.BENCH_GATEWAY_FLAGS?.split(" ").filter(Boolean),
  });
  const bare = spawnBenchChild("bare-server.ts", {
    nodeFlags: process.env.BENCH_BARE_FLAGS?.split(" ").filter(Boolean),
  });
  // The bare server plus the audit trail the SPEC requires (same pipeline, same database).
  const bareAudit = spawnBenchChild("bare-server.ts", {
    env: {
      AUDIT_DATABASE_URL: db.url,
      ...(process.env.AUDIT_FLUSH_MS ? { AUDIT_FLUSH_MS: process.env.AUDIT_FLUSH_MS } : {}),
      ...(process.env.BENCH_DIAG === "bare-audit-no-db" ? { AUDIT_SKIP_WRITES: "1" } : {}),
    },
    nodeFlags: process.env.BENCH_BARE_AUDIT_FLAGS?.split(" ").filter(Boolean),
  });
  const clients = Array.from({ length: CLIENTS }, () => spawnBenchChild("handshake-client.ts"));
  const [gwReady, bareReady, bareAuditReady] = await Promise.all([
    waitFor<{ port: number }>(gateway, "ready"),
    waitFor<{ port: number }>(bare, "ready"),
    waitFor<{ port: number }>(bareAudit, "ready"),
    ...clients.map((c) => waitFor(c, "ready")),
  ]);
  const ports = { gateway: gwReady.port, bare: bareReady.port, bareAudit: bareAuditReady.port };
  const servers = { gateway, bare, bareAudit };

  // Idle: each server's own background work (timers, heartbeat, reconciliation, summaries...),
  // read from /proc over the same window with no traffic. At an offered rate it is charged to
  // every handshake of that server: idle µs/s ÷ handshakes/s.
  if (IDLE_MS > 0) {
    await sleep(2000); // let start-up work (policy load, first heartbeat) settle
    const before = cpuSnapshot();
    await sleep(IDLE_MS);
    const after = cpuSnapshot();
    const seconds = (after.total - before.total) / os.cpus().length / CLK_TCK;
    const idle = (child: ChildProcess) =>
      (((after.processes.get(child.pid!)?.ticks ?? Number.NaN) -
        (before.processes.get(child.pid!)?.ticks ?? Number.NaN)) *
        (1_000_000 / CLK_TCK)) /
      seconds;
    const line = (name: string, child: ChildProcess) =>
      `${name} ${fmt(idle(child))} µs/s${RATE ? ` (${fmt(idle(child) / RATE)} µs per handshake at ${fmt(RATE)}/s)` : ""}`;
    console.log(
      `idle CPU over ${fmt(seconds, 1)} s, no traffic: ${line("gateway", gateway)}; ${line("bare", bare)}; ` +
        `${line("bare + audit trail", bareAudit)}\n`,
    );
  }

  for (const target of TARGETS) {
    // Closed loop (as fast as it goes) even in an open-loop run: at 200/s a 2.5 s warm-up is
    // only 500 handshakes, too few for V8 to optimise the hot code of either server, and the
    // first measured round then cost more than the later ones for every target (2026-12-02).
    const warm = await phase(target, ports, servers, clients, WARMUP_MS, 0);
    if (warm.rate === 0)
      throw new Error(`${target.label}: no handshake completed (unexpected ${JSON.stringify(warm.unexpected)})`);
    await Promise.all([auditDrained(gateway), auditDrained(bareAudit)]);
  }
  const auditBefore = (await auditDrained(gateway)).stats.audit!;

  if (PAIRED) {
    console.log(
      "| round | handshakes/s bare / gateway / bare+audit | bare µs/handshake | gateway µs | bare + audit trail µs | gateway ÷ bare | bare + audit ÷ bare | load avg (1 min) | non-expected answers |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    await pairedRounds(ports, servers, clients);
    await Promise.all([stopChild(gateway), stopChild(bare), stopChild(bareAudit), ...clients.map((c) => stopChild(c))]);
    return;
  }

  const results = new Map<string, PhaseResult[]>(TARGETS.map((t) => [t.key, []]));
  const drainMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length]!);
    for (const target of order) {
      const result = await phase(target, ports, servers, clients, PHASE_MS);
      results.get(target.key)!.push(result);
      if (target.server === "gateway") drainMs.push((await auditDrained(gateway)).ms);
      if (target.server === "bareAudit") await auditDrained(bareAudit);
      console.error(`  round ${round + 1} ${target.label}: ${fmt(result.rate)}/s`);
    }
  }
  const flushed = await request<{ audit: Stats["audit"] }>(gateway, { type: "flushAudit" });
  const audit = flushed.audit!;

  const summary = (key: string) => {
    const rs = results.get(key)!;
    const rates = rs.map((r) => r.rate);
    const mid = [...rs].sort((a, b) => a.rate - b.rate)[Math.floor(rs.length / 2)]!;
    // CPU per handshake: the median over the rounds (with an offered rate every round has the
    // same throughput, so "the median round by throughput" would be an arbitrary round).
    const cpu = median(rs.map((r) => r.serverCpuUsPerHandshake));
    return { mid, min: Math.min(...rates), max: Math.max(...rates), rs, cpu };
  };
  console.log(
    "| target | handshakes/s (median round) | spread (min–max) | server process CPU µs/handshake (/proc, median of rounds) | CPU per round | cores: server / clients / postgres / other | client latency p50 / p99 (ms) | non-expected answers |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const t of TARGETS) {
    const s = summary(t.key);
    const bad = s.rs.reduce((n, r) => n + r.errors + Object.values(r.unexpected).reduce((a, b) => a + b, 0), 0);
    console.log(
      `| ${t.label} | ${fmt(s.mid.rate)} | ${fmt(s.min)}–${fmt(s.max)} | ${fmt(s.cpu)} | ${s.rs.map((r) => fmt(r.serverCpuUsPerHandshake)).join(", ")} | ${["server", "clients", "postgres", "other"].map((k) => fmt(s.mid.cores[k] ?? Number.NaN, 2)).join(" / ")} | ${fmt(s.mid.p50, 2)} / ${fmt(s.mid.p99, 1)} | ${bad} |`,
    );
  }
  const has = (key: string) => TARGETS.some((t) => t.key === key);
  const cpu = (key: string) => summary(key).cpu;
  // Per-round ratios (same round = closest in time), to show how much noise moves them.
  const perRound = (key: string, base: string, of: (r: PhaseResult) => number) =>
    results
      .get(key)!
      .map((r, i) => (of(r) / of(results.get(base)![i]!)).toFixed(2))
      .join(", ");
  const rateOf = (r: PhaseResult) => r.rate;
  const cpuOf = (r: PhaseResult) => r.serverCpuUsPerHandshake;
  console.log("");
  let cpuAccepted = Number.NaN;
  if (has("gw-accept") && has("bare")) {
    const accepted = summary("gw-accept").mid.rate / summary("bare").mid.rate;
    console.log(
      `ratio accepted: gateway ÷ bare = ${accepted.toFixed(2)} (per round: ${perRound("gw-accept", "bare", rateOf)})`,
    );
    cpuAccepted = cpu("gw-accept") / cpu("bare");
    console.log(
      `CPU per accepted handshake, gateway process ÷ bare: ${fmt(cpu("gw-accept"))} ÷ ${fmt(cpu("bare"))} µs = ` +
        `${cpuAccepted.toFixed(2)} (per round: ${perRound("gw-accept", "bare", cpuOf)})`,
    );
  }
  if (has("bare-audit") && has("bare")) {
    console.log(
      `extra: bare ws + audit trail only ÷ bare: throughput ${(summary("bare-audit").mid.rate / summary("bare").mid.rate).toFixed(2)} ` +
        `(per round: ${perRound("bare-audit", "bare", rateOf)}); CPU ${(cpu("bare-audit") / cpu("bare")).toFixed(2)} ` +
        `(per round: ${perRound("bare-audit", "bare", cpuOf)})`,
    );
  }
  if (has("bare-audit") && has("gw-accept")) {
    console.log(
      `extra: gateway accepted ÷ (bare ws + audit trail only): throughput ${(summary("gw-accept").mid.rate / summary("bare-audit").mid.rate).toFixed(2)}; ` +
        `CPU ${(cpu("gw-accept") / cpu("bare-audit")).toFixed(2)}`,
    );
  }
  let rejected = Number.NaN;
  if (has("gw-reject") && has("bare")) {
    rejected = summary("gw-reject").mid.rate / summary("bare").mid.rate;
    console.log(
      `ratio rejected: gateway ÷ bare = ${rejected.toFixed(2)} (per round: ${perRound("gw-reject", "bare", rateOf)})`,
    );
  }
  if (has("gw-reject") && has("bare-reject")) {
    console.log(
      `extra: gateway rejected ÷ bare verifyClient 403 = ${(summary("gw-reject").mid.rate / summary("bare-reject").mid.rate).toFixed(2)}`,
    );
    console.log(
      `CPU per rejected handshake, gateway ÷ bare verifyClient 403: ${fmt(cpu("gw-reject"))} ÷ ${fmt(cpu("bare-reject"))} µs = ` +
        `${(cpu("gw-reject") / cpu("bare-reject")).toFixed(2)} (per round: ${perRound("gw-reject", "bare-reject", cpuOf)})`,
    );
  }
  if (Number.isFinite(cpuAccepted))
    console.log(
      `goal: CPU per accepted handshake ≤ 1.5 × bare → ${cpuAccepted.toFixed(2)} ${verdict(cpuAccepted <= 1.5)}`,
    );
  if (Number.isFinite(rejected))
    console.log(`goal: rejected throughput ≥ 1.0 × bare → ${rejected.toFixed(2)} ${verdict(rejected >= 1)}`);
  console.log(
    `audit (measured rounds): ${fmt(audit.recorded - auditBefore.recorded)} events recorded, ` +
      `${fmt(audit.written - auditBefore.written)} written in ${fmt(audit.rows - auditBefore.rows)} rows, ` +
      `${fmt(audit.dropped - auditBefore.dropped)} dropped; queue drained ${fmt(median(drainMs))} ms (median) after a gateway phase`,
  );
  await Promise.all([stopChild(gateway), stopChild(bare), stopChild(bareAudit), ...clients.map((c) => stopChild(c))]);
}

runBench(main, async () => {
  await db?.drop();
});
