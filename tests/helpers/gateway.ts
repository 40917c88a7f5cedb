/**
 * Gateways for tests: in-process (port 0, silent logs) or as real child processes
 * (`tsx server/main.ts`, for multi-process scenarios), plus clients: a `ws` handshake that
 * reports the HTTP status and reason of a refusal, and a raw-TCP request for malformed
 * handshakes that no WebSocket client would send.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { freePort } from "../../server/db/pg-server";
import { Gateway, type GatewayOptions } from "../../server/gateway/gateway";
import { createLogger } from "../../server/log";
import { configuredSecretBox } from "../../server/secrets/secrets-key";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface TestGateway {
  gateway: Gateway;
  port: number;
  wsUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(databaseUrl: string, options: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const gateway = new Gateway({
    databaseUrl,
    logger: createLogger({ name: "test-gateway", level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    host: "127.0.0.1",
    reconcileIntervalMs: 500,
    heartbeatIntervalMs: 500,
    dashboardUrl: "http://localhost:3000",
    drainTimeoutMs: 1000,
    secrets: configuredSecretBox(),
    ...options,
  });
  const { port } = await gateway.start(0);
  await gateway.ready();
  return {
    gateway,
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    stop: () => gateway.stop(),
  };
}

export interface ProcessGateway {
  child: ChildProcess;
  id: string;
  port: number;
  wsUrl: string;
  httpUrl: string;
  /** Where /healthz, /readyz and /metrics are: the admin listener when ADMIN_PORT is given, else httpUrl. */
  healthUrl: string;
  stop(): Promise<void>;
}

/**
 * A gateway as its own process (`npm run gateway`), ready when /readyz answers 200 (on the
 * admin listener when `env.ADMIN_PORT` is set).
 */
export async function spawnGateway(databaseUrl: string, env: Record<string, string> = {}): Promise<ProcessGateway> {
  const port = await freePort();
  const id = `gw-test-${randomBytes(3).toString("hex")}`;
  // Its last-known-good snapshot goes to a temporary file, never into the checkout's .data/.
  const snapshotPath = path.join(tmpdir(), `og-policy-snapshot-${id}.enc`);
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_ID: id,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      RECONCILE_INTERVAL_MS: "1000",
      HEARTBEAT_INTERVAL_MS: "500",
      POLICY_SNAPSHOT_PATH: snapshotPath,
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  const healthUrl = env.ADMIN_PORT ? `http://${env.ADMIN_HOST ?? "127.0.0.1"}:${env.ADMIN_PORT}` : httpUrl;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${healthUrl}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("gateway process did not become ready");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    id,
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl,
    healthUrl,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      if (!env.POLICY_SNAPSHOT_PATH) await rm(snapshotPath, { force: true });
    },
  };
}

export interface HandshakeOutcome {
  status: number;
  reason: string | null;
  headers: Record<string, string | string[] | undefined>;
  ws: WebSocket | null;
  protocol: string | null;
}

/** Opens a WebSocket; resolves with 101 and the open socket, or the refusal's status/reason. */
export function handshake(
  url: string,
  options: { origin?: string | null; protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<HandshakeOutcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.origin !== undefined && options.origin !== null) headers.Origin = options.origin;
    const ws = new WebSocket(url, options.protocols ?? [], { headers, perMessageDeflate: false });
    ws.once("open", () => resolve({ status: 101, reason: null, headers: {}, ws, protocol: ws.protocol || null }));
    ws.once("unexpected-response", (_req, res) => {
      const reason = res.headers["x-origingate-reason"];
      resolve({
        status: res.statusCode ?? 0,
        reason: typeof reason === "string" ? reason : null,
        headers: res.headers,
        ws: null,
        protocol: null,
      });
      res.resume();
      ws.terminate();
    });
    ws.once("error", (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

export async function expectRefusal(
  url: string,
  options: Parameters<typeof handshake>[1] = {},
): Promise<{ status: number; reason: string | null; headers: HandshakeOutcome["headers"] }> {
  const outcome = await handshake(url, options);
  outcome.ws?.close();
  return { status: outcome.status, reason: outcome.reason, headers: outcome.headers };
}

/** Sends `request` verbatim over TCP and returns the status line, headers and body. */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: { timeoutMs?: number; keepOpen?: boolean } = {},
): Promise<{ statusLine: string; status: number; headers: Record<string, string>; body: string; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      const [head = "", body = ""] = data.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ statusLine, status: Number(statusLine.split(" ")[1] ?? 0), headers, body, raw: data });
    });
    socket.write(request);
  });
}

export function upgradeRequest(pathname: string, headers: Record<string, string | undefined>, method = "GET"): string {
  const all: Record<string, string | undefined> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`);
  return `${method} ${pathname} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

export function nextMessage(ws: WebSocket, timeoutMs = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message")), timeoutMs);
    ws.once("message", (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer);
      resolve({ data, isBinary });
    });
  });
}

export function closed(ws: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve({ code: 1006, reason: "" });
    const timer = setTimeout(() => reject(new Error("not closed")), timeoutMs);
    ws.once("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
type Falsy = null | undefined | false | 0 | "";

export async function eventually<T>(
  fn: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 5000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
