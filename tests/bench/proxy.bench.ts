/**
 * bench:proxy — proxy mode (a tenant with an upstream) against what a team would run
 * instead: nginx from Debian in front of the same `ws` echo upstream, with an equivalent
 * `map $http_origin` allowlist and `return 403` (issue 19). Same machine, same upstream
 * process, same clients, rounds alternating in one run.
 *
 * Processes: the gateway (tests/bench/gateway-process.ts: the real Gateway, audit on,
 * scratch database), nginx (one worker, access log on, started here on a free port), the
 * upstream (tests/bench/ws-echo-upstream.ts), and CLIENTS load generators of each kind
 * (handshake-client.ts: connect → upgrade → close → FIN; relay-client.ts: echo round trips
 * over open connections).
 *
 * Phases per target (gateway, nginx): accepted proxied handshakes/s (the upstream is
 * connected for each), refused handshakes/s (origin not allowed: 403), and relayed echo
 * round trips/s of 1 KiB and 64 KiB messages over CONNECTIONS open connections (MB/s =
 * payload bytes through the proxy, both directions). CPU per handshake and per relayed MB
 * come from /proc/<pid>/stat of the gateway process and of the nginx worker (Postgres and
 * the upstream excluded: on a real deployment they run elsewhere). The gateway's audit
 * queue is drained before every phase, so its writes never run during nginx's phases.
 * The median round is the figure; ratios are gateway ÷ nginx of the same run.
 *
 * Run: DATABASE_URL=postgres://... npm run bench:proxy
 * Profiling: BENCH_GATEWAY_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"; BENCH_ONLY=gw-accept,gw-1k.
 * Diagnosis (never goal figures): BENCH_DIAG=no-audit or no-audit-db (see gateway-process.ts).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../server/db/pg-server";
import { createTenant } from "../helpers/fixtures";
import {
  type BenchDatabase,
  benchDatabase,
  fmt,
  machineLine,
  request,
  runBench,
  sleep,
  spawnBenchChild,
  stopChild,
  verdict,
  waitFor,
} from "./kit";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Open connections of the relay phases, over all client processes. */
const CONNECTIONS = 16;
const WARMUP_MS = 2000;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ALLOWED_ORIGIN = "https://app.example.com";
const REFUSED_ORIGIN = "https://refused.example";
const TICK_US = 1_000_000 / 100; // /proc jiffies (USER_HZ = 100 on Linux)

type Proxy = "gateway" | "nginx";
type Kind = "accept" | "reject" | "1k" | "64k";
interface Target {
  key: string;
  proxy: Proxy;
  kind: Kind;
}

const KINDS: Kind[] = ["accept", "reject", "1k", "64k"];
const ALL_TARGETS: Target[] = KINDS.flatMap((kind) =>
  (["nginx", "gateway"] as Proxy[]).map((proxy) => ({
    key: `${proxy === "gateway" ? "gw" : "nginx"}-${kind}`,
    proxy,
    kind,
  })),
);
const TARGETS = process.env.BENCH_ONLY
  ? ALL_TARGETS.filter((t) => process.env.BENCH_ONLY!.split(",").includes(t.key))
  : ALL_TARGETS;

interface PhaseResult {
  /** Handshakes/s or messages/s. */
  rate: number;
  /** MB/s of payload (relay phases). */
  mbps: number;
  /** CPU µs of the proxy process per handshake, or per relayed MB. */
  cpuPerUnit: number;
  /** Cores the proxy process used during the phase. */
  cores: number;
  /** Share of that CPU time spent in the kernel (stime ÷ utime + stime). */
  kernelShare: number;
  bad: number;
}

let db: BenchDatabase | null = null;
let nginxDir: string | null = null;

/** utime and stime of one process, in jiffies. */
function ticks(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]), sys: Number(fields[12]) };
}

/** CPU µs of `pid` since `t0`, and the kernel's share of it. */
function cpuSince(pid: number, t0: { user: number; sys: number }): { cpu: number; kernelShare: number } {
  const t1 = ticks(pid);
  const user = t1.user - t0.user;
  const sys = t1.sys - t0.sys;
  return { cpu: (user + sys) * TICK_US, kernelShare: sys / Math.max(1, user + sys) };
}

async function startNginx(upstreamPort: number): Promise<{ port: number; child: ChildProcess; workerPid: number }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "og-bench-nginx-"));
  nginxDir = dir;
  // What a team writes without OriginGate: the allowlist as a map, 403 otherwise, and the
  // usual WebSocket proxy settings. One worker (the gateway is one process).
  writeFileSync(
    path.join(dir, "nginx.conf"),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_origin $origin_allowed {
    default 0;
    "${ALLOWED_ORIGIN}" 1;
    "~^https://[^/]+\\.example\\.org$" 1;
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    "" close;
  }
  server {
    listen 127.0.0.1:${port};
    # A refused handshake ends its connection, as the gateway's 403 does.
    keepalive_timeout 0;
    location /t/bench/ {
      if ($origin_allowed = 0) { return 403; }
      proxy_pass http://127.0.0.1:${upstreamPort}/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
`,
  );
  const child = spawn("nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], {
    cwd: dir,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error("nginx did not listen");
    await sleep(50);
  }
  // The master forks its worker after it listens: wait for it.
  let children: string[] = [];
  while (Date.now() < deadline) {
    children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (children.length > 0) break;
    await sleep(50);
  }
  if (children.length !== 1) throw new Error(`expected one nginx worker, found [${children.join(",")}]`);
  return { port, child, workerPid: Number(children[0]) };
}

async function auditDrained(gateway: ChildProcess): Promise<void> {
  const started = Date.now();
  for (;;) {
    const stats = await request<{ audit: { depth: number } }>(gateway, { type: "stats" });
    if (stats.audit.depth === 0) return;
    if (Date.now() - started > 60_000) throw new Error("gateway audit queue did not drain within 60 s");
    await sleep(50);
  }
}

interface Env {
  ports: Record<Proxy, number>;
  pids: Record<Proxy, number>;
  gateway: ChildProcess;
  hsClients: ChildProcess[];
  relayClients: ChildProcess[];
}

async function phase(t: Target, env: Env, durationMs: number): Promise<PhaseResult> {
  await auditDrained(env.gateway);
  const port = env.ports[t.proxy];
  const pid = env.pids[t.proxy];
  if (t.kind === "accept" || t.kind === "reject") {
    const t0 = ticks(pid);
    const answers = await Promise.all(
      env.hsClients.map((c) =>
        request<{ completed: number; errors: number; unexpected: Record<string, number> }>(c, {
          type: "run",
          port,
          path: "/t/bench/live?room=1",
          origin: t.kind === "accept" ? ALLOWED_ORIGIN : REFUSED_ORIGIN,
          concurrency: CONCURRENCY,
          durationMs,
          expect: t.kind === "accept" ? 101 : 403,
        }),
      ),
    );
    const { cpu, kernelShare } = cpuSince(pid, t0);
    const completed = answers.reduce((n, a) => n + a.completed, 0);
    const bad = answers.reduce((n, a) => n + a.errors + Object.values(a.unexpected).reduce((x, y) => x + y, 0), 0);
    return {
      rate: completed / (durationMs / 1000),
      mbps: 0,
      cpuPerUnit: cpu / Math.max(1, completed),
      cores: cpu / 1000 / durationMs,
      kernelShare,
      bad,
    };
  }
  const size = t.kind === "1k" ? 1024 : 64 * 1024;
  const per = CONNECTIONS / env.relayClients.length;
  await Promise.all(
    env.relayClients.map((c) =>
      request(c, { type: "open", port, path: "/t/bench/live?room=1", origin: ALLOWED_ORIGIN, connections: per }),
    ),
  );
  const t0 = ticks(pid);
  const answers = await Promise.all(
    env.relayClients.map((c) => request<{ messages: number; bytes: number }>(c, { type: "run", size, durationMs })),
  );
  const { cpu, kernelShare } = cpuSince(pid, t0);
  await Promise.all(env.relayClients.map((c) => request(c, { type: "close" })));
  const messages = answers.reduce((n, a) => n + a.messages, 0);
  const mb = answers.reduce((n, a) => n + a.bytes, 0) / 1e6;
  return {
    rate: messages / (durationMs / 1000),
    mbps: mb / (durationMs / 1000),
    cpuPerUnit: cpu / Math.max(1e-9, mb),
    cores: cpu / 1000 / durationMs,
    kernelShare,
    bad: 0,
  };
}

async function main(): Promise<void> {
  db = await benchDatabase("proxy");
  console.log(`bench:proxy — ${machineLine(db.postgresVersion)}; ${execNginxVersion()}`);
  console.log(
    `handshakes: ${CLIENTS} processes × ${CONCURRENCY} concurrent (raw TCP: connect, upgrade, close, FIN); ` +
      `relay: ${CONNECTIONS} open connections, one echo in flight each; warm-up ${WARMUP_MS} ms per target; ` +
      `${ROUNDS} rounds × ${PHASE_MS} ms per target\n`,
  );
  const upstream = spawnBenchChild("ws-echo-upstream.ts");
  const upstreamPort = (await waitFor<{ port: number }>(upstream, "ready")).port;
  await createTenant(db.url, {
    slug: "bench",
    upstreamUrl: `ws://127.0.0.1:${upstreamPort}/`,
    policy: {
      origins: [ALLOWED_ORIGIN, "https://*.example.org"],
      limits: {
        handshakesPerMinutePerIp: 1_000_000,
        maxConnections: 1_000_000,
        maxConnectionsPerIp: 1_000_000,
        maxMessageBytes: 1_048_576,
        idleTimeoutSeconds: 3600,
      },
    },
  });
  const gateway = spawnBenchChild("gateway-process.ts", {
    env: {
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
      GATEWAY_ID: "gw-bench-proxy",
      // Diagnosis only, never a goal figure: "no-audit" / "no-audit-db" (gateway-process.ts).
      ...(process.env.BENCH_DIAG ? { BENCH_DIAG: process.env.BENCH_DIAG } : {}),
    },
    nodeFlags: process.env.BENCH_GATEWAY_FLAGS?.split(" ").filter(Boolean),
  });
  const nginx = await startNginx(upstreamPort);
  const hsClients = Array.from({ length: CLIENTS }, () => spawnBenchChild("handshake-client.ts"));
  const relayClients = Array.from({ length: CLIENTS }, () => spawnBenchChild("relay-client.ts"));
  const [gwReady] = await Promise.all([
    waitFor<{ port: number }>(gateway, "ready"),
    ...[...hsClients, ...relayClients].map((c) => waitFor(c, "ready")),
  ]);
  const env: Env = {
    ports: { gateway: gwReady.port, nginx: nginx.port },
    pids: { gateway: gateway.pid!, nginx: nginx.workerPid },
    gateway,
    hsClients,
    relayClients,
  };

  try {
    for (const t of TARGETS) {
      const warm = await phase(t, env, WARMUP_MS);
      if (warm.rate === 0) throw new Error(`${t.key}: nothing completed in the warm-up`);
    }
    const results = new Map<string, PhaseResult[]>(TARGETS.map((t) => [t.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length]!);
      for (const t of order) {
        const r = await phase(t, env, PHASE_MS);
        results.get(t.key)!.push(r);
        console.error(`  round ${round + 1} ${t.key}: ${fmt(r.rate)}/s, ${fmt(r.cores, 2)} cores`);
      }
    }
    const mid = (key: string) => {
      const rs = results.get(key);
      if (!rs || rs.length === 0) return null;
      const sorted = [...rs].sort((a, b) => a.rate - b.rate);
      return { m: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!.rate, max: sorted.at(-1)!.rate };
    };
    const label: Record<Kind, string> = {
      accept: "accepted handshakes proxied (/s)",
      reject: "refused handshakes, 403 (/s)",
      "1k": "1 KiB echo round trips, 16 conns (/s)",
      "64k": "64 KiB echo round trips, 16 conns (/s)",
    };
    console.log(
      "| | nginx (median, min–max) | gateway (median, min–max) | ratio | MB/s nginx / gateway | CPU nginx worker / gateway | CPU ratio (nginx ÷ gateway) | kernel share of CPU nginx / gateway |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    const goals: string[] = [];
    for (const kind of KINDS) {
      const n = mid(`nginx-${kind}`);
      const g = mid(`gw-${kind}`);
      if (!n || !g) continue;
      const unit = kind === "accept" || kind === "reject" ? "µs/handshake" : "µs/MB";
      const ratio = g.m.rate / n.m.rate;
      const cpuRatio = n.m.cpuPerUnit / g.m.cpuPerUnit;
      const mbps = kind === "1k" || kind === "64k" ? `${fmt(n.m.mbps, 1)} / ${fmt(g.m.mbps, 1)}` : "";
      console.log(
        `| ${label[kind]} | ${fmt(n.m.rate)} (${fmt(n.min)}–${fmt(n.max)}) | ${fmt(g.m.rate)} (${fmt(g.min)}–${fmt(g.max)}) | ` +
          `**${ratio.toFixed(2)}** | ${mbps} | ${fmt(n.m.cpuPerUnit)} / ${fmt(g.m.cpuPerUnit)} ${unit} | ${cpuRatio.toFixed(2)} | ${pct(n.m.kernelShare)} / ${pct(g.m.kernelShare)} |`,
      );
      const perRound = results
        .get(`gw-${kind}`)!
        .map((r, i) => (r.rate / results.get(`nginx-${kind}`)![i]!.rate).toFixed(2))
        .join(", ");
      goals.push(
        `goal ${kind}: gateway ÷ nginx ≥ 1.0 → ${ratio.toFixed(2)} ${verdict(ratio >= 1)} (per round: ${perRound})`,
      );
      const bad = [...results.get(`gw-${kind}`)!, ...results.get(`nginx-${kind}`)!].reduce((x, r) => x + r.bad, 0);
      if (bad > 0) goals.push(`  ${kind}: ${bad} unexpected answers or socket errors`);
    }
    console.log("");
    for (const line of goals) console.log(line);
  } finally {
    await Promise.all([
      stopChild(gateway),
      stopChild(upstream),
      ...[...hsClients, ...relayClients].map((c) => stopChild(c)),
    ]);
    nginx.child.kill("SIGTERM");
  }
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

function execNginxVersion(): string {
  // nginx -v writes to stderr
  const out = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  return `${out.stderr ?? ""}`.trim() || "nginx (version unknown)";
}

runBench(main, async () => {
  await db?.drop();
  if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });
});
