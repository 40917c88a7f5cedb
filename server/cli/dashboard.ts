/**
 * `npm run dashboard`: the dashboard alone (Next.js production server) against
 * DATABASE_URL — how a fleet is deployed (several dashboards and gateways, one Postgres).
 * Builds first when there is no build, or when the sources changed. Does not migrate: run `npm run db:migrate`
 * (or `npm start` once) for that.
 */
import { spawn } from "node:child_process";
import { loadConfigOrExit, redact } from "../config";
import { ensureDashboardBuild, NEXT_SERVER, ROOT } from "./dashboard-build";

const config = loadConfigOrExit();
if (!config.DATABASE_URL) {
  console.error(
    "DATABASE_URL is required: `npm run dashboard` serves the dashboard for an existing database (use `npm start` for the all-in-one setup).",
  );
  process.exit(2);
}
const distDir = process.env.NEXT_DIST_DIR || ".next";
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" as const };

if (!ensureDashboardBuild(distDir, env, (line) => console.log(`[dashboard] ${line}`))) {
  console.error("[dashboard] the build failed (see above).");
  process.exit(1);
}

console.log(
  `[dashboard] database ${redact(config.DATABASE_URL)}; serving ${config.dashboardUrl} (port ${config.PORT})`,
);
const child = spawn(process.execPath, [NEXT_SERVER, "--port", String(config.PORT)], {
  cwd: ROOT,
  env,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
