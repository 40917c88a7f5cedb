import { defineConfig } from "vitest/config";

// Two tiers run by vitest: `unit` (pure, no I/O) and `integration` (real Postgres, real
// sockets). The e2e tier is Playwright (playwright.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
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
