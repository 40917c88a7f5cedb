import { defineConfig } from "@playwright/test";

// End-to-end tier: the real dashboard (`next start` on a fresh build in .next-test) and a
// real gateway process, against a throwaway database, driven in Debian's Chromium.
// Ports are chosen once per run, in the runner process, before the global setup starts the
// servers; workers inherit them through the environment. Random so that two runs on one
// machine do not collide (override with E2E_PORT / E2E_GATEWAY_PORT).
const randomPort = () => 20_000 + Math.floor(Math.random() * 20_000);
process.env.E2E_PORT ??= String(randomPort());
process.env.E2E_GATEWAY_PORT ??= String(randomPort());
const port = Number(process.env.E2E_PORT);

export default defineConfig({
  testDir: "tests/e2e",
  // Specs seed data with app/_lib's domain functions, whose "server-only" guard this tsconfig
  // maps to the package's empty module (Next.js does the same for its own server).
  tsconfig: "./tsconfig.node.json",
  globalSetup: "./tests/e2e/global-setup.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/e2e-results.json" }]],
  use: {
    baseURL: `http://localhost:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
});
