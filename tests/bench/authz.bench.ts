/**
 * bench:authz — forward-auth decisions (SPEC §5.1, §9): latency at a fixed 1,000 requests/s
 * and the throughput ceiling, directly against a gateway's `/authz/<slug>` and through a
 * real nginx running docs/deploy/nginx/origingate.conf (auth_request), beside nginx doing
 * the same job alone with `map $http_origin` + `return 403` — the baseline a team would
 * otherwise write — in the same run, as a ratio.
 *
 * Processes: the gateway (tests/bench/gateway-process.ts: the real Gateway, audit on,
 * TRUST_PROXY=1), three nginx instances (1 worker each): the application (answers 200 "ok"
 * itself, so no Node app shares the CPU), nginx + auth_request in front of it (the shipped
 * file), nginx + map in front of it (the baseline); and one load-generator process
 * (tests/bench/http-load-client.ts, keep-alive raw TCP). This process only orchestrates.
 *
 * Method: warm-up, then ROUNDS rounds; in each round every target runs RATE_MS at 1,000
 * requests/s (open loop: nothing waits for earlier answers; latency from when each request
 * was written) and MAX_MS closed loop
 * with CONCURRENCY connections, targets in an order rotated per round. Median round per
 * target; min–max spread. Allowed requests carry the allowlisted Origin, refused ones an
 * Origin that is not in it (and not in nginx's map).
 *
 * The machine is shared: each latency phase also reports how many cores went to work other
 * than this benchmark's processes (from /proc), so a figure taken under load shows it.
 *
 * Goal: p99 < 2 ms for direct decisions at 1,000 requests/s. Reported: the throughput of
 * nginx + auth_request ÷ nginx + map, allowed and refused.
 * Run: DATABASE_URL=postgres://... npm run bench:authz
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { databaseName, freePort } from "../../server/db/pg-server";
import { createTenant } from "../helpers/fixtures";
import { type RunningProxy, startProxy } from "../helpers/proxies";
import {
  type BenchDatabase,
  benchDatabase,
  type CpuSnapshot,
  cpuBreakdown,
  cpuSnapshot,
  fmt,
  machineLine,
  median,
  request,
  runBench,
  spawnBenchChild,
  stopChild,
  verdict,
  waitFor,
} from "./kit";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const RATE_MS = Number(process.env.BENCH_RATE_MS ?? 8000);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ALLOWED = "https://app.example.com";
const REFUSED = "https://refused.example";

interface LoadResult {
  completed: number;
  perSecond: number;
  statuses: Record<string, number>;
  errors: number;
  dropped: number;
  late: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Cores busy with other work on the machine during the phase. */
  otherCores?: number;
}

interface Target {
  key: string;
  label: string;
  port: () => number;
  request: () => string;
  expect: number;
}

let db: BenchDatabase | null = null;
let gateway: ChildProcess | null = null;
let client: ChildProcess | null = null;
let authNginx: RunningProxy | null = null;
const nginxes: Array<{ child: ChildProcess; dir: string }> = [];

/** A bench-only nginx (the application, or the map baseline) on a free port. */
async function plainNginx(name: string, server: string): Promise<number> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), `og-bench-${name}-`));
  writeFileSync(
    path.join(dir, "nginx.conf"),
    [
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "events { worker_connections 4096; }",
      "http {",
      "  access_log off;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      server.replaceAll("{{LISTEN}}", `127.0.0.1:${port}`),
      "}",
    ].join("\n"),
  );
  const child = spawn("nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  nginxes.push({ child, dir });
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx ${name} did not start`);
}

const APP_SERVER = `server { listen {{LISTEN}}; location / { return 200 "ok\\n"; } }`;

/** nginx refusing by itself: the allowlist as a map, then the same proxying as the shipped file. */
const mapServer = (appPort: number) => `
map $http_origin $og_bench_allowed { default 0; "${ALLOWED}" 1; "" 1; }
upstream og_bench_app { server 127.0.0.1:${appPort}; keepalive 32; }
server {
  listen {{LISTEN}};
  location / {
    if ($og_bench_allowed = 0) { return 403; }
    proxy_pass http://og_bench_app;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_buffering off;
  }
}`;

function httpRequest(pathname: string, headers: Record<string, string>): string {
  const lines = Object.entries({ Host: "bench.local", ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `GET ${pathname} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

runBench(
  async () => {
    console.log(`bench:authz — ${machineLine()}`);
    db = await benchDatabase("authz");
    const tenant = await createTenant(db.url, {
      policy: {
        origins: [ALLOWED],
        limits: { requestsPerMinutePerIp: 1_000_000, handshakesPerMinutePerIp: 1_000_000 },
      },
    });
    gateway = spawnBenchChild("gateway-process.ts", { env: { DATABASE_URL: db.url, TRUST_PROXY: "1" } });
    const { port: gatewayPort } = await waitFor<{ port: number }>(gateway, "ready");
    const appPort = await plainNginx("app", APP_SERVER);
    const mapPort = await plainNginx("map", mapServer(appPort));
    authNginx = await startProxy("nginx", {
      gateway: `127.0.0.1:${gatewayPort}`,
      upstream: `127.0.0.1:${appPort}`,
      tenant: tenant.slug,
    });
    const authPort = authNginx.port;
    client = spawnBenchChild("http-load-client.ts");
    await waitFor(client, "ready");

    const direct = (origin: string) =>
      httpRequest(`/authz/${tenant.slug}`, {
        "X-Forwarded-Method": "GET",
        "X-Forwarded-Uri": "/api/items?page=1",
        "X-Forwarded-For": "203.0.113.7",
        Origin: origin,
      });
    const viaProxy = (origin: string) => httpRequest("/api/items?page=1", { Origin: origin });
    const targets: Target[] = [
      {
        key: "direct",
        label: "gateway /authz, allowed",
        port: () => gatewayPort,
        request: () => direct(ALLOWED),
        expect: 200,
      },
      {
        key: "direct-refused",
        label: "gateway /authz, refused",
        port: () => gatewayPort,
        request: () => direct(REFUSED),
        expect: 403,
      },
      {
        key: "auth",
        label: "nginx + auth_request, allowed",
        port: () => authPort,
        request: () => viaProxy(ALLOWED),
        expect: 200,
      },
      {
        key: "map",
        label: "nginx + map (baseline), allowed",
        port: () => mapPort,
        request: () => viaProxy(ALLOWED),
        expect: 200,
      },
      {
        key: "auth-refused",
        label: "nginx + auth_request, refused",
        port: () => authPort,
        request: () => viaProxy(REFUSED),
        expect: 403,
      },
      {
        key: "map-refused",
        label: "nginx + map (baseline), refused",
        port: () => mapPort,
        request: () => viaProxy(REFUSED),
        expect: 403,
      },
    ];
    const run = (t: Target, mode: "rate" | "max", durationMs: number) =>
      request<LoadResult>(
        client!,
        {
          type: "run",
          mode,
          port: t.port(),
          request: t.request(),
          rate: RATE,
          concurrency: mode === "max" ? CONCURRENCY : 64,
          durationMs,
        },
        durationMs + 60_000,
      );
    const check = (t: Target, r: LoadResult) => {
      const unexpected = Object.entries(r.statuses).filter(([s]) => Number(s) !== t.expect);
      if (unexpected.length > 0 || r.errors > 0) {
        throw new Error(`${t.label}: unexpected answers ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
      }
    };

    console.log("warm-up…");
    for (const t of targets) check(t, await run(t, "max", 1500));

    /** Cores used by other work between two snapshots (ours: gateway, client, every nginx, our database). */
    const otherCores = (before: CpuSnapshot, after: CpuSnapshot) => {
      const nginxPids = [...after.processes].filter(([, p]) => p.comm === "nginx").map(([pid]) => pid);
      const groups = { gateway: [gateway!.pid!], client: [client!.pid!], nginx: nginxPids };
      return cpuBreakdown(before, after, groups, databaseName(db!.url)).other ?? Number.NaN;
    };
    const rate: Record<string, LoadResult[]> = Object.fromEntries(targets.map((t) => [t.key, []]));
    const max: Record<string, LoadResult[]> = Object.fromEntries(targets.map((t) => [t.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) {
        const before = cpuSnapshot();
        const r = await run(t, "rate", RATE_MS);
        r.otherCores = otherCores(before, cpuSnapshot());
        check(t, r);
        rate[t.key]!.push(r);
        const m = await run(t, "max", MAX_MS);
        check(t, m);
        max[t.key]!.push(m);
      }
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }

    const stat = (rs: LoadResult[], f: (r: LoadResult) => number) => ({
      median: median(rs.map(f)),
      min: Math.min(...rs.map(f)),
      max: Math.max(...rs.map(f)),
    });
    console.log(
      `\nLatency at ${fmt(RATE)} requests/s, open loop (${ROUNDS} rounds × ${RATE_MS / 1000} s; median round, min–max):`,
    );
    console.log(
      "| target | achieved/s | p50 ms | p90 ms | p99 ms | max ms | written > 1 ms late | no free connection | other work (cores) |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const t of targets) {
      const rs = rate[t.key]!;
      const p99 = stat(rs, (r) => r.p99);
      console.log(
        `| ${t.label} | ${fmt(median(rs.map((r) => r.perSecond)))} | ${fmt(median(rs.map((r) => r.p50)), 3)} | ${fmt(median(rs.map((r) => r.p90)), 3)} | ${fmt(p99.median, 3)} (${fmt(p99.min, 3)}–${fmt(p99.max, 3)}) | ${fmt(median(rs.map((r) => r.max)), 1)} | ${rs.reduce((n, r) => n + r.late, 0)} | ${rs.reduce((n, r) => n + r.dropped, 0)} | ${fmt(median(rs.map((r) => r.otherCores ?? Number.NaN)), 2)} |`,
      );
    }
    console.log(
      `\nThroughput, closed loop, ${CONCURRENCY} connections (${ROUNDS} rounds × ${MAX_MS / 1000} s; median round, min–max):`,
    );
    console.log("| target | requests/s | spread | p50 ms | p99 ms |");
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const t of targets) {
      const s = stat(max[t.key]!, (r) => r.perSecond);
      console.log(
        `| ${t.label} | ${fmt(s.median)} | ${fmt(s.min)}–${fmt(s.max)} | ${fmt(median(max[t.key]!.map((r) => r.p50)), 2)} | ${fmt(median(max[t.key]!.map((r) => r.p99)), 2)} |`,
      );
    }
    const tput = (k: string) => median(max[k]!.map((r) => r.perSecond));
    const directP99 = median(rate.direct!.map((r) => r.p99));
    console.log(
      `\nGoal: direct /authz p99 < 2 ms at ${fmt(RATE)}/s: ${fmt(directP99, 3)} ms — ${verdict(directP99 < 2)}`,
    );
    console.log(
      `nginx + auth_request ÷ nginx + map, throughput: allowed ${fmt(tput("auth") / tput("map"), 2)}×, refused ${fmt(tput("auth-refused") / tput("map-refused"), 2)}×`,
    );
  },
  async () => {
    if (client) await stopChild(client);
    if (authNginx) await authNginx.stop();
    for (const { child, dir } of nginxes) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
    if (gateway) await stopChild(gateway);
    await db?.drop();
  },
);
