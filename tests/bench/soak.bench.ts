/**
 * bench:soak — one gateway process under mixed traffic for a long time (issue 15, item 5):
 * does memory stay flat, does everything it counts come back to zero, does the audit trail
 * hold exactly what happened?
 *
 * Duration: BENCH_SOAK_MINUTES (default 10). Warm-up: the first 20 % of it (at least
 * 60 s). RSS (/proc/<pid>/status VmRSS of the gateway process) is sampled every SAMPLE_MS,
 * and every 30 s also after full GCs (the gateway runs with --expose-gc): after the warm-up,
 * the RSS after full GC must stay within ±10 % of its post-warm-up mean. Both are reported
 * with their trend; RSS between collections also moves with the garbage a burst (a flood)
 * leaves until V8 collects it, which is not memory the process keeps.
 *
 * Traffic, all at once for the whole duration (raw TCP clients in this process; ws clients
 * for the relayed connections):
 *  - accepts: ACCEPT_LOOPS loops of connect → upgrade → close frame on tenant `echo` (no
 *    upstream: the gateway echoes);
 *  - refusals: REFUSE_LOOPS loops with an origin the policy refuses (403);
 *  - floods: every FLOOD_EVERY_MS, FLOOD_SIZE refused handshakes at once (folded rows);
 *  - long-lived relayed connections: LONG_LIVED ws clients on tenant `relay`, whose upstream
 *    is an echo server in this process; each sends a message every 2 s and expects its echo,
 *    lives 10–60 s, and is replaced when it ends (so the relay opens and closes upstreams all
 *    along);
 *  - policy changes every POLICY_EVERY_MS, alternating between two allowlists of both
 *    tenants (the allowed origin stays allowed, so open connections are re-evaluated and
 *    kept: a change never revokes here).
 * At the end: load stops, the relayed clients close, and the bench waits until the gateway
 * counts no open connection. Then:
 *  - the open-connection gauge (`origingate_open_connections` on /metrics) must be 0 for
 *    every tenant, and the connection registry must hold no slot and no per-address counter;
 *  - audit rows (sum of `count`, after the queue is flushed) must equal exactly what the
 *    clients saw: accepted handshakes, refused handshakes, and one close per accepted one.
 * Run: DATABASE_URL=postgres://... npm run bench:soak (BENCH_SOAK_MINUTES=1 for a short run)
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import pg from "pg";
import WebSocket, { WebSocketServer } from "ws";
import { createTenant, updatePolicy } from "../helpers/fixtures";
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

const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const DURATION_MS = MINUTES * 60_000;
const WARMUP_MS = Math.max(60_000, DURATION_MS * 0.2);
const SAMPLE_MS = 5000;
/** Every 6th sample (30 s) is also taken after full GCs. */
const GC_EVERY = 6;
const ACCEPT_LOOPS = 4;
const REFUSE_LOOPS = 2;
const FLOOD_EVERY_MS = 30_000;
const FLOOD_SIZE = 500;
const LONG_LIVED = 200;
const POLICY_EVERY_MS = 3000;
const ALLOWED = "https://app.example.com";
const REFUSED = "https://refused.example";
const LIMITS = { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000 };
/** Close frame, client to server: FIN + opcode 8, masked, 2-byte payload 1000 (mask 0). */
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8]);

let db: BenchDatabase | null = null;

const seen = { accepted: 0, refused: 0, other: 0, errors: 0, relayedOpened: 0, relayedFailed: 0, echoesMissed: 0 };

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** One short handshake (closed at once when accepted); counts what the client saw. */
function shortHandshake(port: number, slug: string, origin: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let head = "";
    let status = 0;
    socket.on("connect", () =>
      socket.write(
        `GET /t/${slug}/short HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
      ),
    );
    socket.on("data", (chunk: Buffer) => {
      if (status !== 0) return;
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      status = Number(head.slice(9, 12));
      if (status === 101) {
        seen.accepted++;
        socket.write(CLOSE_FRAME);
        socket.end();
      } else {
        if (status === 403) seen.refused++;
        else seen.other++;
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (status === 0) seen.errors++;
      resolve();
    });
  });
}

/** A relayed connection living `lifeMs`, echoing a message every 2 s; resolves when closed. */
function longLived(port: number, lifeMs: number, state: { stop: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/t/relay/long`, {
      perMessageDeflate: false,
      headers: { Origin: ALLOWED },
    });
    let opened = false;
    let timer: NodeJS.Timeout | null = null;
    let pending = 0;
    ws.on("open", () => {
      opened = true;
      seen.accepted++;
      seen.relayedOpened++;
      const started = Date.now();
      timer = setInterval(() => {
        if (pending > 0) seen.echoesMissed++;
        if (state.stop || Date.now() - started > lifeMs) {
          if (timer) clearInterval(timer);
          ws.close(1000);
          return;
        }
        pending++;
        ws.send("ping");
      }, 2000);
    });
    ws.on("message", () => {
      pending = Math.max(0, pending - 1);
    });
    ws.on("unexpected-response", (_req, res) => {
      if (res.statusCode === 403) seen.refused++;
      else seen.other++;
      seen.relayedFailed++;
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      if (timer) clearInterval(timer);
      if (!opened) seen.relayedFailed++;
      resolve();
    });
  });
}

async function openConnectionsGauge(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith("origingate_open_connections")) sum += Number(line.split(" ").pop());
  return sum;
}

async function main(): Promise<void> {
  db = await benchDatabase("soak");
  console.log(`bench:soak — ${machineLine(db.postgresVersion)}`);
  console.log(
    `${MINUTES} min (warm-up ${fmt(WARMUP_MS / 1000)} s): ${ACCEPT_LOOPS} accept loops, ${REFUSE_LOOPS} refusal loops, ` +
      `a flood of ${FLOOD_SIZE} refusals every ${FLOOD_EVERY_MS / 1000} s, ${LONG_LIVED} long-lived relayed connections ` +
      `(10–60 s each, replaced), a policy change every ${POLICY_EVERY_MS / 1000} s; RSS sampled every ${SAMPLE_MS / 1000} s\n`,
  );
  const upstream = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  upstream.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((r) => upstream.once("listening", () => r()));
  const upstreamUrl = `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
  const echo = await createTenant(db.url, { slug: "echo", policy: { origins: [ALLOWED], limits: LIMITS } });
  const relay = await createTenant(db.url, {
    slug: "relay",
    upstreamUrl,
    policy: { origins: [ALLOWED], limits: LIMITS },
  });

  const gateway: ChildProcess = spawnBenchChild("gateway-process.ts", {
    env: { DATABASE_URL: db.url, LOG_LEVEL: "warn", GATEWAY_ID: "gw-bench-soak" },
    nodeFlags: ["--expose-gc"],
  });
  const port = (await waitFor<{ port: number }>(gateway, "ready", 300_000)).port;
  const pid = gateway.pid!;

  const state = { stop: false };
  const started = Date.now();
  const loops: Promise<void>[] = [];
  const loop = (slug: string, origin: string) =>
    (async () => {
      while (!state.stop) await shortHandshake(port, slug, origin);
    })();
  for (let i = 0; i < ACCEPT_LOOPS; i++) loops.push(loop("echo", ALLOWED));
  for (let i = 0; i < REFUSE_LOOPS; i++) loops.push(loop(i % 2 ? "relay" : "echo", REFUSED));
  for (let i = 0; i < LONG_LIVED; i++) {
    loops.push(
      (async () => {
        await sleep(Math.random() * 5000);
        while (!state.stop) await longLived(port, 10_000 + Math.random() * 50_000, state);
      })(),
    );
  }
  let floods = 0;
  loops.push(
    (async () => {
      while (!state.stop) {
        await sleep(FLOOD_EVERY_MS);
        if (state.stop) break;
        floods++;
        await Promise.all(Array.from({ length: FLOOD_SIZE }, () => shortHandshake(port, "echo", REFUSED)));
      }
    })(),
  );
  let policyChanges = 0;
  loops.push(
    (async () => {
      while (!state.stop) {
        await sleep(POLICY_EVERY_MS);
        if (state.stop) break;
        const extra = policyChanges % 2 ? [] : [`https://extra${policyChanges}.example.com`];
        await updatePolicy(db!.url, echo.id, { origins: [ALLOWED, ...extra], limits: LIMITS });
        await updatePolicy(db!.url, relay.id, { origins: [ALLOWED, ...extra], limits: LIMITS });
        policyChanges += 2;
      }
    })(),
  );

  const samples: { atS: number; rss: number; connections: number; gc: MemorySample | null }[] = [];
  while (Date.now() - started < DURATION_MS) {
    await sleep(SAMPLE_MS);
    const stats = await request<{ connections: number }>(gateway, { type: "stats" });
    // Every GC_EVERY-th sample also after full GCs: what the process retains (a leak shows
    // there), apart from the garbage a burst leaves until the next collection.
    const gc =
      samples.length % GC_EVERY === GC_EVERY - 1 ? await request<MemorySample>(gateway, { type: "memory" }) : null;
    samples.push({ atS: (Date.now() - started) / 1000, rss: rssMiB(pid), connections: stats.connections, gc });
    const last = samples.at(-1)!;
    if (samples.length % 12 === 0)
      console.error(
        `  ${fmt(last.atS)} s: RSS ${fmt(last.rss, 1)} MiB, ${last.connections} open, ${fmt(seen.accepted)} accepted`,
      );
  }
  state.stop = true;
  await Promise.all(loops);

  // Everything closed: the gateway must count no connection, hold no slot.
  let drained: { connections: number; slots: number; addressCounters: number } | null = null;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    drained = await request<{ connections: number; slots: number; addressCounters: number }>(gateway, {
      type: "stats",
    });
    if (drained.connections === 0 && drained.slots === 0 && drained.addressCounters === 0) break;
    await sleep(200);
  }
  const gauge = await openConnectionsGauge(port);
  const audit = await request<{ audit: { recorded: number; written: number; dropped: number; depth: number } }>(
    gateway,
    { type: "flushAudit" },
    300_000,
  );
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query<{ kind: string; decision: string; n: string }>(
    "select kind, decision::text, sum(count)::text as n from audit_event where tenant in ('echo', 'relay') group by 1, 2",
  );
  await client.end();
  await stopChild(gateway);
  upstream.close();

  const sum = (kind: string, decision: string) =>
    rows.filter((r) => r.kind === kind && r.decision === decision).reduce((n, r) => n + Number(r.n), 0);
  const after = samples.filter((s) => s.atS * 1000 >= WARMUP_MS);
  /** Mean, min, max, largest deviation from the mean, and least-squares trend (per minute). */
  const spread = (points: { atS: number; v: number }[]) => {
    const mean = points.reduce((n, p) => n + p.v, 0) / points.length;
    const min = Math.min(...points.map((p) => p.v));
    const max = Math.max(...points.map((p) => p.v));
    const mx = points.reduce((n, p) => n + p.atS, 0) / points.length;
    const slope =
      points.reduce((n, p) => n + (p.atS - mx) * (p.v - mean), 0) / points.reduce((n, p) => n + (p.atS - mx) ** 2, 0);
    return { mean, min, max, deviation: Math.max(max / mean - 1, 1 - min / mean), perMinute: slope * 60 };
  };
  const raw = spread(after.map((s) => ({ atS: s.atS, v: s.rss })));
  const gced = after.filter((s) => s.gc !== null);
  const rssGc = spread(gced.map((s) => ({ atS: s.atS, v: s.gc!.rss / 2 ** 20 })));
  const heapGc = spread(gced.map((s) => ({ atS: s.atS, v: s.gc!.heapUsed / 2 ** 20 })));
  const deviation = rssGc.deviation;

  console.log("| minute | RSS (MiB) | RSS after full GC (MiB) | heap used after full GC (MiB) | open connections |");
  console.log("|---:|---:|---:|---:|---:|");
  for (const s of samples.filter((x) => x.gc !== null)) {
    console.log(
      `| ${fmt(s.atS / 60, 1)} | ${fmt(s.rss, 1)} | ${fmt(s.gc!.rss / 2 ** 20, 1)} | ${fmt(s.gc!.heapUsed / 2 ** 20, 1)} | ${s.connections} |`,
    );
  }
  console.log("");
  console.log(
    `traffic: ${fmt(seen.accepted)} accepted (${fmt(seen.relayedOpened)} of them relayed long-lived), ${fmt(seen.refused)} refused, ` +
      `${seen.other} other answers, ${seen.errors} connection errors, ${floods} floods, ${policyChanges} policy changes, ` +
      `${seen.echoesMissed} relayed echoes late or missing`,
  );
  const show = (label: string, x: ReturnType<typeof spread>) =>
    console.log(
      `${label} after warm-up: mean ${fmt(x.mean, 1)} MiB, min ${fmt(x.min, 1)}, max ${fmt(x.max, 1)} ` +
        `(±${fmt(x.deviation * 100, 1)} %), trend ${fmt(x.perMinute, 2)} MiB/min`,
    );
  show("RSS (every 5 s)", raw);
  show("RSS after full GC (every 30 s)", rssGc);
  show("heap used after full GC", heapGc);
  const rowsAccepted = sum("handshake", "accepted");
  const rowsRefused = sum("handshake", "rejected");
  const rowsClosed = sum("close", "accepted") + sum("revoked", "accepted");
  console.log(
    `audit rows (sum of count): accepted ${fmt(rowsAccepted)} (clients saw ${fmt(seen.accepted)}), refused ${fmt(rowsRefused)} ` +
      `(clients saw ${fmt(seen.refused)}), closes ${fmt(rowsClosed)} (expected ${fmt(seen.accepted)}); pipeline ` +
      `${fmt(audit.audit.recorded)} recorded, ${fmt(audit.audit.written)} written, ${fmt(audit.audit.dropped)} dropped`,
  );
  console.log(
    `after the load: open connections ${drained?.connections}, gauge ${gauge}, slots ${drained?.slots}, per-address counters ${drained?.addressCounters}`,
  );
  console.log(
    `goal: RSS (after full GC) flat within ±10 % after warm-up → ±${fmt(deviation * 100, 1)} % ${verdict(deviation <= 0.1)}` +
      ` (RSS between collections: ±${fmt(raw.deviation * 100, 1)} %)`,
  );
  console.log(
    `goal: open-connection gauge back to 0, no leaked slot → ${verdict(gauge === 0 && drained?.connections === 0 && drained.slots === 0 && drained.addressCounters === 0)}`,
  );
  console.log(
    `goal: exact audit counts → ${verdict(rowsAccepted === seen.accepted && rowsRefused === seen.refused && rowsClosed === seen.accepted && audit.audit.dropped === 0)}`,
  );
}

runBench(main, async () => {
  await db?.drop();
});
