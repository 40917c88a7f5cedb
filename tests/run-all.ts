/**
 * `npm test`: every tier in order — unit (vitest), integration (vitest, real Postgres and
 * sockets), end-to-end (Playwright in Chromium) — then one summary whose last line is
 * `N passed, N failed`. A tier that crashes before reporting counts as one failure.
 * Exit code 0 only when nothing failed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, "test-results");
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);

interface TierResult {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  crashed: boolean;
}

function run(command: string, args: string[]): number {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: "inherit", env: process.env });
  return result.status ?? 1;
}

function vitestTier(project: string): TierResult {
  const file = path.join(OUT, `${project}.json`);
  rmSync(file, { force: true });
  const started = Date.now();
  const code = run(bin("vitest"), [
    "run",
    "--project",
    project,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${file}`,
  ]);
  const seconds = (Date.now() - started) / 1000;
  if (!existsSync(file)) return { name: project, passed: 0, failed: 1, skipped: 0, seconds, crashed: true };
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    numFailedTestSuites: number;
  };
  // A file that fails to load has no failed tests, only a failed suite: count it.
  const failed =
    report.numFailedTests + (report.numFailedTests === 0 && code !== 0 ? Math.max(1, report.numFailedTestSuites) : 0);
  return {
    name: project,
    passed: report.numPassedTests,
    failed,
    skipped: report.numPendingTests + report.numTodoTests,
    seconds,
    crashed: false,
  };
}

function e2eTier(): TierResult {
  const file = path.join(OUT, "e2e-results.json");
  rmSync(file, { force: true });
  const started = Date.now();
  const code = run(bin("playwright"), ["test"]);
  const seconds = (Date.now() - started) / 1000;
  if (!existsSync(file)) return { name: "e2e", passed: 0, failed: 1, skipped: 0, seconds, crashed: true };
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    stats: { expected: number; unexpected: number; flaky: number; skipped: number };
    errors?: unknown[];
  };
  const { expected, unexpected, flaky, skipped } = report.stats;
  const setupFailed = code !== 0 && unexpected === 0 ? 1 : 0;
  return { name: "e2e", passed: expected + flaky, failed: unexpected + setupFailed, skipped, seconds, crashed: false };
}

mkdirSync(OUT, { recursive: true });
if (!existsSync(path.join(ROOT, "server", "db", "generated", "client.ts"))) {
  run(process.execPath, [path.join(ROOT, "server", "cli", "generate-client.mjs")]);
}

const only = process.argv.slice(2);
const tiers: Array<[string, () => TierResult]> = [
  ["unit", () => vitestTier("unit")],
  ["integration", () => vitestTier("integration")],
  ["e2e", e2eTier],
];
const results = tiers.filter(([name]) => only.length === 0 || only.includes(name)).map(([, tier]) => tier());

console.log("\nTest summary");
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(12)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ${String(r.skipped).padStart(3)} skipped  ${r.seconds.toFixed(0)}s${r.crashed ? "  (crashed before reporting)" : ""}`,
  );
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
