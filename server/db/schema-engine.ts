/**
 * Migrations through Prisma's own Wasm build of the schema engine.
 *
 * Why: the Prisma CLI downloads a native schema engine for every migrate command, which
 * cannot work on a machine without internet access. The Wasm engine ships inside an npm
 * package and talks to Postgres through the same `@prisma/adapter-pg` driver the app uses.
 *
 * What works through it (ARCHITECTURE §5): `diff` between two datamodels (or from empty),
 * and `applyMigrations` (records `_prisma_migrations`, compatible with `prisma migrate
 * deploy`). What does not: anything that must describe a live database (introspection),
 * so new migrations are generated datamodel-to-datamodel: each migration folder keeps the
 * `schema.prisma` it was generated from, and the next migration diffs against that.
 */
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { DiffTarget, MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";
import * as bindings from "@prisma/schema-engine-wasm/schema_engine_bg";

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "../../prisma/migrations");
export const SCHEMA_PATH = path.resolve(import.meta.dirname, "../../prisma/schema.prisma");
/** Each migration folder keeps the datamodel it was generated from under this name. */
export const SNAPSHOT_FILE = "schema.prisma";

const NO_FILTERS = { externalTables: [], externalEnums: [] };
let wasmLoaded = false;

/** Instantiates the .wasm ourselves (Node 20 cannot import .wasm modules without a flag). */
async function loadWasm(): Promise<void> {
  if (wasmLoaded) return;
  const require = createRequire(import.meta.url);
  const wasmPath = path.join(
    path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")),
    "schema_engine_bg.wasm",
  );
  const module = await WebAssembly.compile(await readFile(wasmPath));
  const instance = await WebAssembly.instantiate(module, {
    "./schema_engine_bg.js": bindings as unknown as WebAssembly.ModuleImports,
  });
  (bindings as unknown as { __wbg_set_wasm(x: unknown): void }).__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  wasmLoaded = true;
}

type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/**
 * adapter-pg runs a migration script by splitting it on every ";", which breaks function
 * bodies ($$ ... ; ... $$). Postgres' simple-query protocol takes the whole script at once
 * and runs it as one implicit transaction, which is also what makes a migration atomic.
 */
function wholeScriptExecution(adapter: PgAdapter): PgAdapter {
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      // onError is adapter-pg's mapping of pg errors to Prisma's driver-adapter errors.
      (adapter as unknown as { onError(e: unknown): never }).onError(error);
    }
  };
  return adapter;
}

/**
 * Opens an engine on a database. The engine connects even when it only diffs datamodels,
 * so a reachable database is always needed (any scratch database will do).
 */
export async function openSchemaEngine(databaseUrl: string): Promise<SchemaEngine> {
  await loadWasm();
  const factory = new PrismaPg({ connectionString: databaseUrl });
  const connect = factory.connect.bind(factory);
  const adapters: PgAdapter[] = [];
  factory.connect = async () => {
    const adapter = wholeScriptExecution(await connect());
    adapters.push(adapter);
    return adapter;
  };
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const logs: string[] = [];
  const engine = await bindings.SchemaEngine.new({ datamodels: undefined }, (line: string) => logs.push(line), adapter);
  openAdapters.set(engine, adapters);
  return engine;
}

const openAdapters = new WeakMap<SchemaEngine, PgAdapter[]>();

/** Frees the engine and closes its connections (a template database must have none left). */
export async function closeSchemaEngine(engine: SchemaEngine): Promise<void> {
  engine.free();
  for (const adapter of openAdapters.get(engine) ?? [])
    await adapter
      .underlyingDriver()
      .end()
      .catch(() => {});
}

export function datamodelTarget(text: string, file = SCHEMA_PATH): DiffTarget {
  return { tag: "schemaDatamodel", files: [{ path: file, content: text }] };
}

/** The SQL that takes a database from `from` to `to` ("" when they are equivalent). */
export async function diffSql(engine: SchemaEngine, from: DiffTarget, to: DiffTarget): Promise<string> {
  const result = await engine.diff({ from, to, script: true, exitCode: null, filters: NO_FILTERS });
  const sql = result.stdout ?? "";
  return /^\s*(-- This is an empty migration\.)?\s*$/.test(sql) ? "" : sql;
}

export interface MigrationFolder {
  name: string;
  sql: string;
  /** The datamodel this migration was generated from (absent for hand-written ones). */
  snapshot: string | null;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFolder[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  entries.sort();
  const folders: MigrationFolder[] = [];
  for (const name of entries) {
    const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
    const snapshot = await readFile(path.join(dir, name, SNAPSHOT_FILE), "utf8").catch(() => null);
    folders.push({ name, sql, snapshot });
  }
  return folders;
}

export function migrationList(folders: MigrationFolder[], dir = MIGRATIONS_DIR): MigrationList {
  return {
    baseDir: dir,
    lockfile: { path: "migration_lock.toml", content: 'provider = "postgresql"\n' },
    shadowDbInitScript: "",
    migrationDirectories: folders.map((f) => ({
      path: f.name,
      migrationFile: { path: "migration.sql", content: { tag: "ok", value: f.sql } },
    })),
  };
}

/** Applies every migration not yet recorded in `_prisma_migrations`. Idempotent. */
export async function applyMigrations(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const engine = await openSchemaEngine(databaseUrl);
  try {
    const folders = await readMigrations(dir);
    const result = await engine.applyMigrations({ migrationsList: migrationList(folders, dir), filters: NO_FILTERS });
    return result.appliedMigrationNames;
  } finally {
    await closeSchemaEngine(engine);
  }
}
