import path from "node:path";
import { defineConfig } from "vitest/config";

// app/_lib's server modules import "server-only", which throws outside a React server
// environment; Next.js resolves it for its own server, tests resolve it to its empty module.
const serverOnly = { "server-only": path.resolve(import.meta.dirname, "node_modules/server-only/empty.js") };

// Two tiers run by vitest: `unit` (pure, no I/O) and `integration` (real Postgres, real
// sockets). The e2e tier is Playwright (playwright.config.ts).
export default defineConfig({
  // The `@/` alias of tsconfig.json, for modules of app/ that tests import.
  resolve: { alias: { "@": path.resolve(import.meta.dirname), ...serverOnly } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/integration/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // 2 cores: run files one or two at a time; each file seeds its own tenants.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
    ],
  },
});
