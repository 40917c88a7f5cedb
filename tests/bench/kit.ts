/**
 * Shared pieces of the benchmarks (not a benchmark itself): a scratch database migrated
 * for the run, child processes (with the file-descriptor limit raised and an IPC channel),
 * request/response over IPC, statistics and the machine line every report starts with.
 *
 * Lifecycle: a bench calls benchDatabase() first and drop() at the end (also on failure);
 * children it spawns are killed by stopChild()/killAll() before it exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createScratchDatabase, databaseName, dropDatabase, scratchServer } from "../../server/db/pg-server";
import { applyMigrations } from "../../server/db/schema-engine";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const BENCH_DIR = import.meta.dirname;

export interface BenchDatabase {
  url: string;
  postgresVersion: string;
  drop(): Promise<void>;
}

/**
 * A new migrated database on DATABASE_URL's server (or an embedded one when unset). `migrate`
 * replaces applying every migration (e.g. a bench comparing with an older schema).
 */
export async function benchDatabase(
  prefix: string,
  migrate: (url: string) => Promise<unknown> = applyMigrations,
): Promise<BenchDatabase> {
  const server = await scratchServer();
  const url = await createScratchDatabase(server.adminUrl, `og_bench_${prefix}`);
  try {
    await migrate(url);
  } catch (error) {
    await dropDatabase(server.adminUrl, databaseName(url)).catch(() => {});
    await server.stop();
    throw error;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
  await client.end();
  return {
    url,
    postgresVersion: rows[0]?.v ?? "unknown",
    drop: async () => {
      await dropDatabase(server.adminUrl, databaseName(url));
      await server.stop();
    },
  };
}

/** "date — Node, cores, CPU, Postgres" for the head of a report. */
export function machineLine(postgresVersion?: string): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const pgPart = postgresVersion ? `, PostgreSQL ${postgresVersion}` : "";
  return `${new Date().toISOString()} — Node ${process.version}, ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB${pgPart}`;
}

const children = new Set<ChildProcess>();

/**
 * Runs `script` (TypeScript, through tsx) in its own Node process with an IPC channel.
 * The shell raises the soft open-files limit to the hard one first (`ulimit -n`).
 */
export function spawnBenchChild(
  script: string,
  options: { env?: Record<string, string>; nodeFlags?: string[]; args?: string[] } = {},
): ChildProcess {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const command = [
    "ulimit -n $(ulimit -Hn);",
    "exec",
    quote(process.execPath),
    ...(options.nodeFlags ?? []).map(quote),
    "--import",
    "tsx",
    quote(path.resolve(BENCH_DIR, script)),
    ...(options.args ?? []).map(quote),
  ].join(" ");
  const child = spawn("bash", ["-c", command], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

let nextRequestId = 1;

/** Sends `message` to a child and resolves with its answer (same `id`). */
export function request<T>(child: ChildProcess, message: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer to ${String(message.type)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (answer: { id?: number; error?: string }) => {
      if (answer.id !== id) return;
      cleanup();
      if (answer.error) reject(new Error(answer.error));
      else resolve(answer as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before answering ${String(message.type)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send({ ...message, id });
  });
}

/** Waits for the child's first message of `type` (e.g. "ready"). */
export function waitFor<T>(child: ChildProcess, type: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child did not send "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { type?: string }) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before "${type}"`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Asks a child to stop (SIGTERM), then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 8000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function killAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 3000)));
}

/**
 * Child side: answers requests from the parent. `handlers[type](message)` returns the
 * answer's fields; a thrown error is sent back as `error`.
 */
export function serveRequests(
  handlers: Record<string, (message: Record<string, unknown>) => Promise<object> | object>,
): void {
  process.on("message", (message: Record<string, unknown> & { id: number; type: string }) => {
    const handler = handlers[message.type];
    if (!handler) {
      process.send?.({ id: message.id, error: `unknown request ${message.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (answer) => process.send?.({ ...answer, id: message.id }),
        (error: unknown) => process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) }),
      );
  });
  // The parent going away must not leave a child behind.
  process.on("disconnect", () => process.exit(0));
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** process.memoryUsage() after full garbage collections (needs --expose-gc). */
export async function memoryAfterGc(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("start this process with --expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function verdict(ok: boolean): string {
  return ok ? "PASS" : "MISS";
}

/** Runs `main`, always runs `cleanup`, exits 1 on a real error (never because of a figure). */
export function runBench(main: () => Promise<void>, cleanup: () => Promise<void>): void {
  const started = Date.now();
  let failed = false;
  main()
    .catch((error: unknown) => {
      failed = true;
      console.error(error);
    })
    .finally(async () => {
      await killAll().catch(() => {});
      await cleanup().catch((error: unknown) => {
        failed = true;
        console.error("cleanup failed:", error);
      });
      console.log(`total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exit(failed ? 1 : 0);
    });
}

export interface CpuSnapshot {
  /** Jiffies (1/100 s) of every process, by pid, with its command name. */
  processes: Map<number, { comm: string; ticks: number; cmdline: string }>;
  /** Machine-wide busy and total jiffies (all cores). */
  busy: number;
  total: number;
}

/** CPU time of every process on the machine (Linux /proc); empty elsewhere. */
export function cpuSnapshot(): CpuSnapshot {
  const processes = new Map<number, { comm: string; ticks: number; cmdline: string }>();
  let busy = 0;
  let total = 0;
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    busy = total - (cpu[3] ?? 0) - (cpu[4] ?? 0);
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const close = stat.lastIndexOf(")");
        const comm = stat.slice(stat.indexOf("(") + 1, close);
        const fields = stat.slice(close + 2).split(" ");
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        // Postgres backends name their database in their process title.
        const cmdline = comm.startsWith("postgres") ? readFileSync(`/proc/${entry}/cmdline`, "utf8") : "";
        processes.set(Number(entry), { comm, ticks: Number(fields[11]) + Number(fields[12]), cmdline });
      } catch {
        // the process went away
      }
    }
  } catch {
    // not Linux
  }
  return { processes, busy, total };
}

/**
 * Shares of the machine's CPU between two snapshots, in cores (1.0 = one core busy):
 * each named group of pids, Postgres (the backends of `database` plus the server's own
 * background processes: WAL writer, checkpointer...), and everything else (other work on
 * the machine, including other databases' backends).
 */
export function cpuBreakdown(
  before: CpuSnapshot,
  after: CpuSnapshot,
  groups: Record<string, number[]>,
  database: string,
): Record<string, number> {
  const cores = os.cpus().length;
  const elapsed = (after.total - before.total) / cores;
  if (elapsed <= 0) return {};
  const delta = (pid: number) => {
    const a = after.processes.get(pid);
    if (!a) return 0;
    return a.ticks - (before.processes.get(pid)?.ticks ?? 0);
  };
  const out: Record<string, number> = {};
  const grouped = new Set<number>();
  for (const [name, pids] of Object.entries(groups)) {
    out[name] = pids.reduce((n, pid) => n + delta(pid), 0) / elapsed;
    for (const pid of pids) grouped.add(pid);
  }
  let postgres = 0;
  for (const [pid, p] of after.processes) {
    const backend = /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(p.cmdline);
    const ours = !backend || p.cmdline.includes(` ${database} `);
    if (!grouped.has(pid) && p.comm.startsWith("postgres") && ours) {
      postgres += delta(pid);
      grouped.add(pid);
    }
  }
  out.postgres = postgres / elapsed;
  out.machine = (after.busy - before.busy) / elapsed;
  out.other = Math.max(0, out.machine - Object.entries(out).reduce((n, [k, v]) => (k === "machine" ? n : n + v), 0));
  return out;
}

/**
 * One raw WebSocket handshake to /t/bench/probe from `origin`; resolves with the status (0 on a
 * socket error or after `timeoutMs`). The propagation and fleet benches probe with it.
 */
export function probeHandshake(port: number, origin: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let head = "";
    let done = false;
    const finish = (status: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(0), timeoutMs);
    socket.on("connect", () =>
      socket.write(
        `GET /t/bench/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
      ),
    );
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n")) finish(Number(head.slice(9, 12)));
    });
    socket.on("error", () => finish(0));
    socket.on("close", () => finish(0));
  });
}
