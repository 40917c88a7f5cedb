/**
 * `npm test`: every tier in order — unit (vitest), integration (vitest, real Postgres and
 * sockets), end-to-end (Playwright in Chromium) — then one summary whose last line is
 * `N passed, N failed`. A tier that crashes before reporting counts as one failure.
 * Exit code 0 only when nothing failed.
 *
 *   node --import tsx tests/run-all.ts [unit|integration|e2e ...]
 *     [--also-on <node> [--also-tiers t,t] [--also-e2e-specs tests/e2e/a.spec.ts,...]]
 *
 * `--also-on <node>` runs tiers a second time with another Node.js binary (CI: Node 24 LTS
 * from the npm registry, .ci/run), after the run on this one: the tier runners (vitest,
 * Playwright) are started with that binary and its directory leads PATH, so everything they
 * spawn (workers, gateways, `next`, migrations: all through `process.execPath`) runs on it
 * too. `--also-tiers` picks which tiers (default: the same as the first run);
 * `--also-e2e-specs` runs only those e2e spec files in the second run (CI: the specs whose
 * server side leans on the runtime, so the second run fits SPEC §9's 30 minutes; the
 * summary names that row `e2e subset`). The summary lists every tier of every run with its
 * Node version, and the last line sums them all.
 *
 * Each e2e run gets ports the kernel just handed out as free (E2E_PORT, E2E_GATEWAY_PORT,
 * unless set): on a shared machine a random pick can land on a port in use.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { freePort } from "../server/net/free-port";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, "test-results");
const VITEST = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
const PLAYWRIGHT = path.join(ROOT, "node_modules", "@playwright", "test", "cli.js");
const TIERS = ["unit", "integration", "e2e"] as const;
type Tier = (typeof TIERS)[number];

interface Runtime {
  node: string;
  version: string;
}

interface TierResult {
  name: string;
  runtime: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  crashed: boolean;
}

function run(runtime: Runtime, args: string[], extraEnv: Record<string, string> = {}): number {
  const env = {
    ...process.env,
    ...extraEnv,
    PATH: `${path.dirname(runtime.node)}${path.delimiter}${process.env.PATH ?? ""}`,
  };
  const result = spawnSync(runtime.node, args, { cwd: ROOT, stdio: "inherit", env });
  return result.status ?? 1;
}

function vitestTier(project: string, runtime: Runtime): TierResult {
  const file = path.join(OUT, `${project}.json`);
  rmSync(file, { force: true });
  const started = Date.now();
  const code = run(runtime, [
    VITEST,
    "run",
    "--project",
    project,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${file}`,
  ]);
  const seconds = (Date.now() - started) / 1000;
  const base = { name: project, runtime: runtime.version, seconds };
  if (!existsSync(file)) return { ...base, passed: 0, failed: 1, skipped: 0, crashed: true };
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    numFailedTestSuites: number;
    testResults: Array<{ status: string; assertionResults: unknown[] }>;
  };
  // A file that fails to load has no failed tests, only a failed suite: count each one
  // (vitest may even exit 0 then). A non-zero exit with nothing counted is one failure.
  const unloaded = report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
  const counted = report.numFailedTests + unloaded;
  const failed = counted === 0 && code !== 0 ? 1 : counted;
  return {
    ...base,
    passed: report.numPassedTests,
    failed,
    skipped: report.numPendingTests + report.numTodoTests,
    crashed: false,
  };
}

async function e2eTier(runtime: Runtime, specs: string[] = []): Promise<TierResult> {
  const file = path.join(OUT, "e2e-results.json");
  rmSync(file, { force: true });
  const ports = {
    E2E_PORT: process.env.E2E_PORT ?? String(await freePort()),
    E2E_GATEWAY_PORT: process.env.E2E_GATEWAY_PORT ?? String(await freePort()),
  };
  const started = Date.now();
  const code = run(runtime, [PLAYWRIGHT, "test", ...specs], ports);
  const seconds = (Date.now() - started) / 1000;
  const base = { name: specs.length > 0 ? "e2e subset" : "e2e", runtime: runtime.version, seconds };
  if (!existsSync(file)) return { ...base, passed: 0, failed: 1, skipped: 0, crashed: true };
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    stats: { expected: number; unexpected: number; flaky: number; skipped: number };
    errors?: unknown[];
  };
  const { expected, unexpected, flaky, skipped } = report.stats;
  const setupFailed = code !== 0 && unexpected === 0 ? 1 : 0;
  return { ...base, passed: expected + flaky, failed: unexpected + setupFailed, skipped, crashed: false };
}

async function runTier(tier: Tier, runtime: Runtime, e2eSpecs: string[] = []): Promise<TierResult> {
  return tier === "e2e" ? e2eTier(runtime, e2eSpecs) : vitestTier(tier, runtime);
}

/** `node --version` of a binary, or null when it does not run. */
function versionOf(node: string): string | null {
  const result = spawnSync(node, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

interface SecondRun {
  node: string;
  tiers: Tier[];
  /** e2e spec files for the second run; empty = all of them. */
  e2eSpecs: string[];
}

function parseArguments(argv: string[]): { tiers: Tier[]; also: SecondRun | null } {
  const tiers: Tier[] = [];
  let alsoOn: string | null = null;
  let alsoTiers: Tier[] | null = null;
  let alsoSpecs: string[] = [];
  const asTier = (name: string): Tier => {
    if (!(TIERS as readonly string[]).includes(name)) throw new Error(`unknown tier "${name}" (${TIERS.join(", ")})`);
    return name as Tier;
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === "--also-on") alsoOn = argv[++index] ?? "";
    else if (argument === "--also-tiers") alsoTiers = (argv[++index] ?? "").split(",").filter(Boolean).map(asTier);
    else if (argument === "--also-e2e-specs") alsoSpecs = (argv[++index] ?? "").split(",").filter(Boolean);
    else tiers.push(asTier(argument));
  }
  for (const spec of alsoSpecs) {
    if (!existsSync(path.resolve(ROOT, spec))) throw new Error(`--also-e2e-specs: no such file "${spec}"`);
  }
  const selected = tiers.length === 0 ? [...TIERS] : tiers;
  if (alsoOn === null) return { tiers: selected, also: null };
  return { tiers: selected, also: { node: path.resolve(alsoOn), tiers: alsoTiers ?? selected, e2eSpecs: alsoSpecs } };
}

const { tiers, also } = parseArguments(process.argv.slice(2));
mkdirSync(OUT, { recursive: true });
if (!existsSync(path.join(ROOT, "server", "db", "generated", "client.ts"))) {
  spawnSync(process.execPath, [path.join(ROOT, "server", "cli", "generate-client.mjs")], {
    cwd: ROOT,
    stdio: "inherit",
  });
}

const results: TierResult[] = [];
const machine: Runtime = { node: process.execPath, version: process.version };
for (const tier of tiers) results.push(await runTier(tier, machine));
if (also) {
  const version = versionOf(also.node);
  if (version === null) {
    console.error(`\n--also-on ${also.node}: that Node.js binary does not run`);
    results.push({ name: "runtime", runtime: also.node, passed: 0, failed: 1, skipped: 0, seconds: 0, crashed: true });
  } else {
    console.log(`\n== the same tiers again on Node.js ${version} (${also.node}): ${also.tiers.join(", ")} ==`);
    for (const tier of also.tiers) results.push(await runTier(tier, { node: also.node, version }, also.e2eSpecs));
  }
}

console.log("\nTest summary");
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(12)} ${r.runtime.padEnd(10)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ${String(r.skipped).padStart(3)} skipped  ${r.seconds.toFixed(0)}s${r.crashed ? "  (crashed before reporting)" : ""}`,
  );
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
