/**
 * bench:sse — how long a Server-Sent Event takes from the upstream's write to the client's
 * event, through the gateway (`/t/<slug>/...`, CORS decision, streaming proxy) against a
 * direct connection to the same upstream, in the same run, on the same events.
 *
 * Processes: the gateway (tests/bench/gateway-process.ts: the real Gateway, audit on); the
 * upstream SSE server and the clients live in this process, so the write time and the
 * receive time come from one clock (performance.now()). STREAMS clients connect through
 * the gateway and STREAMS directly; every event is written once to every open stream, so
 * both paths carry the same events at the same moments. Each event's data is its write
 * time; a client's latency is its receive time minus that.
 *
 * Method: warm-up, then EVENTS events at one every INTERVAL_MS (each write is one event to
 * every stream), in ROUNDS rounds; percentiles over all events of all rounds, and the
 * median of the per-round p50s. Reported: p50/p90/p99/max per path and the gateway's
 * added latency (gateway − direct) at p50 and p99.
 * Run: DATABASE_URL=postgres://... npm run bench:sse
 */
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import { createTenant } from "../helpers/fixtures";
import { startUpstream, type Upstream } from "../helpers/upstreams";
import {
  type BenchDatabase,
  benchDatabase,
  fmt,
  machineLine,
  median,
  percentile,
  runBench,
  sleep,
  spawnBenchChild,
  stopChild,
  waitFor,
} from "./kit";

const STREAMS = Number(process.env.BENCH_STREAMS ?? 20);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 300);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ORIGIN = "https://app.example.com";

let db: BenchDatabase | null = null;
let gateway: ChildProcess | null = null;
let upstream: Upstream | null = null;
const responses: http.IncomingMessage[] = [];

/** Opens one SSE stream; every event's latency (now − the write time it carries) goes to `sink`. */
function openStream(url: string, headers: Record<string, string>, sink: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Accept: "text/event-stream", ...headers }, agent: false }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
        responses.push(res);
        res.setEncoding("utf8");
        let buffer = "";
        res.on("data", (chunk: string) => {
          const now = performance.now();
          buffer += chunk;
          for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (frame.startsWith("data: ")) sink.push(now - Number(frame.slice(6)));
          }
        });
        resolve();
      })
      .on("error", reject);
  });
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

runBench(
  async () => {
    console.log(`bench:sse — ${machineLine()}`);
    db = await benchDatabase("sse");
    upstream = await startUpstream();
    const tenant = await createTenant(db.url, {
      upstreamUrl: upstream.wsUrl,
      policy: { origins: [ORIGIN], limits: { requestsPerMinutePerIp: 1_000_000, idleTimeoutSeconds: 3600 } },
    });
    gateway = spawnBenchChild("gateway-process.ts", { env: { DATABASE_URL: db.url } });
    const { port } = await waitFor<{ port: number }>(gateway, "ready");

    const viaGateway: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < STREAMS; i++) {
      await openStream(`http://127.0.0.1:${port}/t/${tenant.slug}/events/sse`, { Origin: ORIGIN }, viaGateway);
      await openStream(`${upstream.httpUrl}/events/sse`, { Origin: ORIGIN }, direct);
    }
    while (upstream.streams.size < STREAMS * 2) await sleep(20);

    const emitAll = async (count: number) => {
      for (let i = 0; i < count; i++) {
        upstream!.emit(String(performance.now()));
        await sleep(INTERVAL_MS);
      }
      // Let the last events arrive.
      await sleep(200);
    };
    console.log("warm-up…");
    await emitAll(50);
    viaGateway.length = 0;
    direct.length = 0;

    const perRound: Array<{ gateway: number; direct: number }> = [];
    const all = { gateway: [] as number[], direct: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      await emitAll(EVENTS);
      const expected = EVENTS * STREAMS;
      if (viaGateway.length !== expected || direct.length !== expected) {
        throw new Error(`events lost: gateway ${viaGateway.length}/${expected}, direct ${direct.length}/${expected}`);
      }
      perRound.push({ gateway: summary(viaGateway).p50, direct: summary(direct).p50 });
      all.gateway.push(...viaGateway);
      all.direct.push(...direct);
      viaGateway.length = 0;
      direct.length = 0;
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }
    const g = summary(all.gateway);
    const d = summary(all.direct);
    console.log(
      `\n${STREAMS} streams through the gateway and ${STREAMS} direct, ${EVENTS} events per round every ${INTERVAL_MS} ms, ${ROUNDS} rounds (${fmt(g.n)} deliveries per path):`,
    );
    console.log("| path | p50 ms | p90 ms | p99 ms | max ms | median of round p50s |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    console.log(
      `| direct to the upstream | ${fmt(d.p50, 3)} | ${fmt(d.p90, 3)} | ${fmt(d.p99, 3)} | ${fmt(d.max, 1)} | ${fmt(median(perRound.map((r) => r.direct)), 3)} |`,
    );
    console.log(
      `| through the gateway | ${fmt(g.p50, 3)} | ${fmt(g.p90, 3)} | ${fmt(g.p99, 3)} | ${fmt(g.max, 1)} | ${fmt(median(perRound.map((r) => r.gateway)), 3)} |`,
    );
    console.log(
      `\nAdded by the gateway: p50 +${fmt(g.p50 - d.p50, 3)} ms, p99 +${fmt(g.p99 - d.p99, 3)} ms; no event lost.`,
    );
  },
  async () => {
    for (const res of responses) res.destroy();
    await upstream?.close();
    if (gateway) await stopChild(gateway);
    await db?.drop();
  },
);
