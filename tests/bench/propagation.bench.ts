/**
 * bench:propagation — time from the commit of a policy change to its first enforcement at
 * each of three gateway processes, p50 and p99 over CHANGES changes, beside a raw NOTIFY
 * round trip (LISTEN client ↔ NOTIFY) measured in the same run.
 *
 * Enforcement is measured by handshake probing (what enforcement means): each change puts a
 * new origin in the tenant's allowlist (a refused origin becomes allowed), and every gateway
 * is probed with real handshakes from that origin, PROBES_PER_GATEWAY in flight each, in a
 * tight loop, until it answers 101. The latency of one gateway is (arrival of its first 101)
 * − (the moment COMMIT was sent): an upper bound, too long by at most one probe round trip.
 * Before each commit, the probes must have seen the origin refused (403).
 *
 * The change is what every writer does (tests/helpers/fixtures.ts): one transaction that
 * bumps the version, replaces the allowlist and adds a revision; the policy_notify trigger
 * sends the NOTIFY at commit. Alongside: a LISTEN client on `policy_changed` (when the
 * wake-up itself arrives) and, on another channel, a raw NOTIFY round trip per change.
 * Gateways run with the default reconciliation interval (3 s), so a lost notification
 * would show up as a ~3 s outlier, not be hidden.
 *
 * Goal (issue 4): p99 < 100 ms at every gateway.
 * Run: DATABASE_URL=postgres://... npm run bench:propagation
 */
import type { ChildProcess } from "node:child_process";
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

const GATEWAYS = 3;
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200);
const WARMUP_CHANGES = 10;
const PROBES_PER_GATEWAY = 2;
const TIMEOUT_MS = 10_000;
const LIMITS = { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000 };

let db: BenchDatabase | null = null;

interface ProbeState {
  origin: string;
  /** performance.now() of the first 101 per gateway, for the current origin. */
  firstAllowed: (number | null)[];
  refusedSeen: boolean[];
  stop: boolean;
  probes: number;
  unexpected: number;
}

/** Probes every gateway with `state.origin` until `state.stop` (PROBES_PER_GATEWAY loops each). */
function startProbing(ports: number[], state: ProbeState): Promise<void> {
  const loops: Promise<void>[] = [];
  ports.forEach((port, g) => {
    for (let k = 0; k < PROBES_PER_GATEWAY; k++) {
      loops.push(
        (async () => {
          while (!state.stop && state.firstAllowed[g] === null) {
            const origin = state.origin;
            const status = await probeHandshake(port, origin, 2000);
            const at = performance.now();
            state.probes++;
            if (origin !== state.origin) continue;
            if (status === 101) {
              if (state.firstAllowed[g] === null) state.firstAllowed[g] = at;
            } else if (status === 403) state.refusedSeen[g] = true;
            else state.unexpected++;
          }
        })(),
      );
    }
  });
  return Promise.all(loops).then(() => {});
}

async function main(): Promise<void> {
  db = await benchDatabase("propagation");
  console.log(`bench:propagation — ${machineLine(db.postgresVersion)}`);
  console.log(
    `${GATEWAYS} gateway processes; ${CHANGES} changes (after ${WARMUP_CHANGES} warm-up); each allows a new origin; ` +
      `first enforcement by handshake probing (${PROBES_PER_GATEWAY} probes in flight per gateway)\n`,
  );
  const tenant = await createTenant(db.url, { slug: "bench", policy: { origins: [], limits: LIMITS } });

  const gateways: ChildProcess[] = Array.from({ length: GATEWAYS }, (_, i) =>
    spawnBenchChild("gateway-process.ts", {
      env: { DATABASE_URL: db!.url, LOG_LEVEL: "warn", GATEWAY_ID: `gw-bench-prop-${i + 1}` },
    }),
  );
  const ports = (await Promise.all(gateways.map((g) => waitFor<{ port: number }>(g, "ready")))).map((r) => r.port);

  const writer = new pg.Client({ connectionString: db.url, application_name: "bench-writer" });
  const listener = new pg.Client({ connectionString: db.url, application_name: "bench-listener" });
  const notifier = new pg.Client({ connectionString: db.url, application_name: "bench-notifier" });
  await Promise.all([writer.connect(), listener.connect(), notifier.connect()]);
  let policyNotifiedAt: number | null = null;
  let rawNotifiedAt: number | null = null;
  listener.on("notification", (n) => {
    if (n.channel === "policy_changed") policyNotifiedAt ??= performance.now();
    if (n.channel === "bench_raw") rawNotifiedAt ??= performance.now();
  });
  await listener.query("listen policy_changed");
  await listener.query("listen bench_raw");

  const perGateway: number[][] = Array.from({ length: GATEWAYS }, () => []);
  const fleet: number[] = [];
  const wakeups: number[] = [];
  const raw: number[] = [];
  let probes = 0;
  let unexpected = 0;
  let timeouts = 0;
  const started = Date.now();

  for (let i = 0; i < WARMUP_CHANGES + CHANGES; i++) {
    const measured = i >= WARMUP_CHANGES;
    // Raw NOTIFY round trip on its own channel (autocommit: delivered at its commit).
    rawNotifiedAt = null;
    const rawT0 = performance.now();
    await notifier.query(`notify bench_raw, '${i}'`);
    while (rawNotifiedAt === null) await sleep(0);
    if (measured) raw.push((rawNotifiedAt as number) - rawT0);

    // Probing starts before the change: the new origin must be seen refused everywhere.
    const origin = `https://p${i}.example.com`;
    const state: ProbeState = {
      origin,
      firstAllowed: Array(GATEWAYS).fill(null),
      refusedSeen: Array(GATEWAYS).fill(false),
      stop: false,
      probes: 0,
      unexpected: 0,
    };
    const probing = startProbing(ports, state);
    while (!state.refusedSeen.every(Boolean) && !state.firstAllowed.some((t) => t !== null)) await sleep(1);
    if (state.firstAllowed.some((t) => t !== null))
      throw new Error(`${origin} was allowed before its change committed`);

    const doc = {
      ...defaultPolicyDocument(),
      origins: [{ pattern: origin }],
      limits: { ...defaultPolicyDocument().limits, ...LIMITS },
    };
    await writer.query("begin");
    const { rows } = await writer.query<{ version: number }>(
      "update policy set version = version + 1, updated_at = now(), updated_by = 'bench' where tenant_id = $1 returning version",
      [tenant.id],
    );
    await writer.query("delete from allowed_origin where tenant_id = $1", [tenant.id]);
    await writer.query(
      "insert into allowed_origin (id, tenant_id, pattern, note, expires_at) values (gen_random_uuid(), $1, $2, null, null)",
      [tenant.id, origin],
    );
    await writer.query(
      "insert into policy_revision (id, tenant_id, version, document, author) values (gen_random_uuid(), $1, $2, $3, 'bench')",
      [tenant.id, rows[0]!.version, JSON.stringify(doc)],
    );
    policyNotifiedAt = null;
    const t0 = performance.now();
    await writer.query("commit");

    const deadline = Date.now() + TIMEOUT_MS;
    while (state.firstAllowed.some((t) => t === null) && Date.now() < deadline) await sleep(1);
    state.stop = true;
    await probing;
    probes += state.probes;
    unexpected += state.unexpected;
    if (!measured) continue;
    if (state.firstAllowed.some((t) => t === null)) timeouts++;
    const latencies = state.firstAllowed.map((t) => (t === null ? TIMEOUT_MS : t - t0));
    for (const [g, ms] of latencies.entries()) perGateway[g]!.push(ms);
    fleet.push(Math.max(...latencies));
    if (policyNotifiedAt !== null) wakeups.push((policyNotifiedAt as number) - t0);
    await sleep(10 + (i % 7) * 3);
  }
  const elapsedS = (Date.now() - started) / 1000;

  const row = (label: string, values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `| ${label} | ${sorted.length} | ${fmt(percentile(sorted, 50), 1)} | ${fmt(percentile(sorted, 99), 1)} | ${fmt(sorted.at(-1) ?? Number.NaN, 1)} |`,
    );
    return percentile(sorted, 99);
  };
  console.log("| measured | samples | p50 (ms) | p99 (ms) | max (ms) |");
  console.log("|---|---:|---:|---:|---:|");
  row("raw NOTIFY round trip (NOTIFY sent → LISTEN client receives)", raw);
  row("policy change: COMMIT sent → `policy_changed` wake-up at a LISTEN client", wakeups);
  const p99s = perGateway.map((values, g) =>
    row(`policy change: COMMIT sent → first enforcement at gateway ${g + 1}`, values),
  );
  const fleetP99 = row("policy change: COMMIT sent → enforced by all 3 gateways", fleet);
  console.log("");
  console.log(
    `probes: ${fmt(probes)} handshakes in ${fmt(elapsedS, 1)} s (${fmt(probes / elapsedS)}/s), unexpected answers ${unexpected}, changes not enforced within ${TIMEOUT_MS / 1000} s: ${timeouts}`,
  );
  const worst = Math.max(...p99s, fleetP99);
  console.log(`goal: p99 < 100 ms at every gateway → worst p99 ${fmt(worst, 1)} ms ${verdict(worst < 100)}`);

  await Promise.all([writer.end(), listener.end(), notifier.end()]);
  await Promise.all(gateways.map((g) => stopChild(g)));
}

runBench(main, async () => {
  await db?.drop();
});
