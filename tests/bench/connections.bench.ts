/**
 * bench:connections — memory per idle connection, gateway (echo mode: the tenant has no
 * upstream) against the bare `ws` server, 10,000 connections each, same run.
 *
 * Processes: the server under test (gateway-process.ts or bare-server.ts, started with
 * --expose-gc, one at a time) and CLIENTS idle-client.ts processes, each holding its share
 * of the connections from its own loopback address (127.0.1.x), so no process needs more
 * than a few thousand descriptors (the hard limit here is 20,000; children raise their
 * soft limit to it).
 *
 * Method, per server: warm-up (1,000 connections opened, echoed, closed), then the server
 * measures itself after full GCs (baseline); 10,000 connections are opened, each sends one
 * message and gets its echo, the gateway's audit queue is drained, and the server
 * measures again (loaded); all are closed and it measures a third time (after close, a leak
 * check). Per connection = (loaded − baseline) / 10,000, for RSS and for V8 heap used.
 *
 * Goal (issue 4): gateway ≤ 1.2 × bare per connection.
 * Run: DATABASE_URL=postgres://... npm run bench:connections
 */
import type { ChildProcess } from "node:child_process";
import { createTenant } from "../helpers/fixtures";
import {
  type BenchDatabase,
  benchDatabase,
  fmt,
  type MemorySample,
  machineLine,
  request,
  runBench,
  sleep,
  spawnBenchChild,
  stopChild,
  verdict,
  waitFor,
} from "./kit";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const CLIENTS = 4;
const WARMUP = 1_000;
const ORIGIN = "https://app.example.com";

interface Measured {
  baseline: MemorySample;
  loaded: MemorySample;
  closed: MemorySample;
  serverConnections: number;
  openMs: number;
}

let db: BenchDatabase | null = null;

async function openAll(clients: ChildProcess[], port: number, total: number): Promise<number> {
  const answers = await Promise.all(
    clients.map((client, i) =>
      request<{ opened: number; failed: number; firstFailure: string | null }>(client, {
        type: "open",
        port,
        path: "/t/bench/feed",
        origin: ORIGIN,
        count: Math.ceil(total / clients.length),
        localAddress: `127.0.1.${i + 1}`,
      }),
    ),
  );
  const failed = answers.reduce((n, a) => n + a.failed, 0);
  if (failed > 0) throw new Error(`${failed} connections failed: ${answers.find((a) => a.firstFailure)?.firstFailure}`);
  return answers.reduce((n, a) => n + a.opened, 0);
}

async function closeAll(clients: ChildProcess[]): Promise<void> {
  await Promise.all(clients.map((c) => request(c, { type: "closeAll" })));
}

async function settle(server: ChildProcess, kind: "gateway" | "bare", connections: number): Promise<number> {
  // Wait until the server sees exactly the connections the clients hold, and (gateway) the
  // audit events of those handshakes are written, so the queue holds nothing.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stats = await request<{ connections: number }>(server, { type: "stats" });
    if (stats.connections === connections) break;
    if (Date.now() > deadline)
      throw new Error(`server reports ${stats.connections} connections, expected ${connections}`);
    await sleep(100);
  }
  if (kind === "gateway") await request(server, { type: "auditIdle" });
  await sleep(500);
  return connections;
}

/** Diagnosis: BENCH_HEAP_SNAPSHOT_DIR=/tmp/x writes heap snapshots at baseline and loaded. */
async function heapSnapshot(server: ChildProcess): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (!dir) return;
  const { file } = await request<{ file: string }>(server, { type: "heapSnapshot", dir });
  console.error(`  heap snapshot: ${file}`);
}

async function measure(kind: "gateway" | "bare", clients: ChildProcess[]): Promise<Measured> {
  const server =
    kind === "gateway"
      ? spawnBenchChild("gateway-process.ts", {
          env: { DATABASE_URL: db!.url, LOG_LEVEL: "warn", GATEWAY_ID: "gw-bench-connections" },
          nodeFlags: ["--expose-gc"],
        })
      : spawnBenchChild("bare-server.ts", { nodeFlags: ["--expose-gc"] });
  const { port } = await waitFor<{ port: number }>(server, "ready");

  await openAll(clients, port, WARMUP);
  await closeAll(clients);
  await settle(server, kind, 0);
  const baseline = await request<MemorySample>(server, { type: "memory" });
  await heapSnapshot(server);

  const started = Date.now();
  const opened = await openAll(clients, port, CONNECTIONS);
  const openMs = Date.now() - started;
  const serverConnections = await settle(server, kind, opened);
  const loaded = await request<MemorySample>(server, { type: "memory" });
  await heapSnapshot(server);

  await closeAll(clients);
  await settle(server, kind, 0);
  const closed = await request<MemorySample>(server, { type: "memory" });
  await stopChild(server);
  return { baseline, loaded, closed, serverConnections, openMs };
}

async function main(): Promise<void> {
  db = await benchDatabase("connections");
  console.log(`bench:connections — ${machineLine(db.postgresVersion)}`);
  console.log(
    `${fmt(CONNECTIONS)} idle connections per server from ${CLIENTS} client processes; each echoed one message; ` +
      "memory of the server process after full GCs\n",
  );
  await createTenant(db.url, {
    slug: "bench",
    policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000 } },
  });
  const clients = Array.from({ length: CLIENTS }, () => spawnBenchChild("idle-client.ts"));
  await Promise.all(clients.map((c) => waitFor(c, "ready")));

  const results: Record<"bare" | "gateway", Measured> = {
    bare: await measure("bare", clients),
    gateway: await measure("gateway", clients),
  };
  const per = (m: Measured, key: keyof MemorySample) => (m.loaded[key] - m.baseline[key]) / m.serverConnections;
  const kb = (bytes: number) => fmt(bytes / 1024, 2);
  console.log(
    "| server | connections | RSS / connection (KiB) | heap used / connection (KiB) | external+arrayBuffers / connection (KiB) | RSS baseline → loaded → after close (MiB) | heap used baseline → loaded → after close (MiB) | open time |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  const mib = (bytes: number) => fmt(bytes / 2 ** 20, 1);
  for (const [label, m] of [
    ["bare ws", results.bare],
    ["gateway (echo)", results.gateway],
  ] as const) {
    console.log(
      `| ${label} | ${fmt(m.serverConnections)} | ${kb(per(m, "rss"))} | ${kb(per(m, "heapUsed"))} | ${kb(per(m, "external") + per(m, "arrayBuffers"))} | ${mib(m.baseline.rss)} → ${mib(m.loaded.rss)} → ${mib(m.closed.rss)} | ${mib(m.baseline.heapUsed)} → ${mib(m.loaded.heapUsed)} → ${mib(m.closed.heapUsed)} | ${fmt(m.openMs / 1000, 1)} s |`,
    );
  }
  const rss = per(results.gateway, "rss") / per(results.bare, "rss");
  const heap = per(results.gateway, "heapUsed") / per(results.bare, "heapUsed");
  console.log("");
  console.log(`ratio RSS per connection: gateway ÷ bare = ${rss.toFixed(2)}`);
  console.log(`ratio heap per connection: gateway ÷ bare = ${heap.toFixed(2)}`);
  console.log(`goal: RSS ≤ 1.2× bare → ${rss.toFixed(2)}× ${verdict(rss <= 1.2)}`);
  console.log(`goal: heap ≤ 1.2× bare → ${heap.toFixed(2)}× ${verdict(heap <= 1.2)}`);
  await Promise.all(clients.map((c) => stopChild(c)));
}

runBench(main, async () => {
  await db?.drop();
});
