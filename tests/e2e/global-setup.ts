/**
 * E2E global setup: a throwaway database, a fresh dashboard build in .next-test (skip with
 * E2E_SKIP_BUILD=1 when one exists), then the gateway and `next start` as child
 * processes. Exposes E2E_DATABASE_URL, E2E_BASE_URL and E2E_GATEWAY_URL to the tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureDashboardBuild } from "../../server/cli/dashboard-build";
import { createTestDatabase } from "../helpers/test-db";
import { setUpTestServer } from "../helpers/test-server";

const ROOT = path.resolve(import.meta.dirname, "../..");
const NEXT_SERVER = path.join(ROOT, "server", "cli", "next-server.mjs");

async function waitFor(url: string, child: ChildProcess, name: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { redirect: "manual" });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not answer at ${url}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const port = Number(process.env.E2E_PORT);
  const gatewayPort = Number(process.env.E2E_GATEWAY_PORT);
  const { teardown } = await setUpTestServer();
  const databaseUrl = await createTestDatabase("e2e");
  const baseURL = `http://localhost:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    GATEWAY_PORT: String(gatewayPort),
    DASHBOARD_URL: baseURL,
    GATEWAY_PUBLIC_URL: `ws://localhost:${gatewayPort}`,
    GATEWAY_INTERNAL_URL: `http://127.0.0.1:${gatewayPort}`,
    NEXT_DIST_DIR: ".next-test",
    NEXT_TELEMETRY_DISABLED: "1",
    RECONCILE_INTERVAL_MS: "1000",
    // The gateway's last-known-good snapshot: a temporary file, not the checkout's .data/.
    POLICY_SNAPSHOT_PATH: path.join(tmpdir(), `og-e2e-policy-snapshot-${process.pid}.enc`),
    // The test runner stands for a proxy of ours: the X-Forwarded-For entry it appends is
    // the client (one hop), so specs can speak for many clients from one machine.
    TRUST_PROXY: "1",
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "warn",
  };
  // Rebuilds .next-test only when the dashboard's sources changed since its last build
  // (E2E_SKIP_BUILD=1 reuses whatever build is there).
  const skip = process.env.E2E_SKIP_BUILD === "1" && existsSync(path.join(ROOT, ".next-test", "BUILD_ID"));
  if (!skip && !ensureDashboardBuild(".next-test", env, () => {}, { quiet: true }))
    throw new Error("next build failed");
  const children = [
    spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "ignore", "inherit"],
    }),
    spawn(process.execPath, [NEXT_SERVER, "--port", String(port)], {
      cwd: ROOT,
      env: { ...env, NODE_ENV: "production" },
      stdio: ["ignore", "ignore", "inherit"],
    }),
  ];
  const stop = async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once("exit", r)))));
    await rm(env.POLICY_SNAPSHOT_PATH, { force: true });
    await teardown();
  };
  try {
    await waitFor(`http://127.0.0.1:${gatewayPort}/readyz`, children[0]!, "gateway");
    await waitFor(`${baseURL}/login`, children[1]!, "dashboard");
  } catch (error) {
    await stop();
    throw error;
  }
  process.env.E2E_DATABASE_URL = databaseUrl;
  process.env.E2E_BASE_URL = baseURL;
  process.env.E2E_GATEWAY_URL = `ws://localhost:${gatewayPort}`;
  return stop;
}
