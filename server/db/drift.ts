/**
 * Drift check between `prisma/schema.prisma` and `prisma/migrations/` without
 * introspection (which the Wasm engine cannot do with adapter-pg, ARCHITECTURE §5):
 * apply the migrations to one scratch database, the schema's own `diff(empty -> schema)`
 * script to another, and compare the two catalogs.
 *
 * Postgres-side extras that Prisma cannot express (triggers, functions, partial indexes,
 * expression and trigram indexes) exist only on the migrations side by design; they are
 * listed but not counted as drift.
 *
 * Partitioned tables (`audit_event`, SPEC §6): the parent is compared like any table (its
 * columns, keys and indexes must match schema.prisma); its partitions are not compared at
 * all (they are rows of the parent's shape, created and dropped at run time), and the
 * partitioning itself is listed as an extra.
 */
import { readFile } from "node:fs/promises";
import pg from "pg";
import { createScratchDatabase, databaseName, dropDatabase } from "./pg-server";
import {
  applyMigrations,
  closeSchemaEngine,
  datamodelTarget,
  diffSql,
  MIGRATIONS_DIR,
  openSchemaEngine,
  readMigrations,
  SCHEMA_PATH,
} from "./schema-engine";

type Catalog = Map<string, string>;

const CATALOG_QUERIES: Array<[kind: string, sql: string]> = [
  [
    "enum",
    `select t.typname as key, string_agg(e.enumlabel, ',' order by e.enumsortorder) as value
       from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = 'public' group by t.typname`,
  ],
  [
    "column",
    `select table_name || '.' || column_name as key,
            concat_ws(' ', udt_name, 'null=' || is_nullable, 'default=' || coalesce(column_default, '-'),
                      'len=' || coalesce(character_maximum_length::text, '-'),
                      'prec=' || coalesce(datetime_precision::text, numeric_precision::text, '-')) as value
       from information_schema.columns
      where table_schema = 'public' and table_name <> '_prisma_migrations'
        and table_name not in (select relname from pg_class where relispartition)`,
  ],
  [
    "constraint",
    `select cl.relname || '.' || c.conname as key, pg_get_constraintdef(c.oid) as value
       from pg_constraint c join pg_class cl on cl.oid = c.conrelid join pg_namespace n on n.oid = cl.relnamespace
      where n.nspname = 'public' and cl.relname <> '_prisma_migrations' and not cl.relispartition`,
  ],
  [
    "index",
    // A partitioned table's index reads `ON ONLY <table>`; the plain table's `ON <table>`.
    `select indexname as key, replace(indexdef, ' ON ONLY ', ' ON ') as value from pg_indexes
      where schemaname = 'public' and tablename <> '_prisma_migrations'
        and tablename not in (select relname from pg_class where relispartition)`,
  ],
  [
    "partitioning",
    `select c.relname as key, pg_get_partkeydef(c.oid) as value from pg_class c
       join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'p'`,
  ],
];

/**
 * An index only the migrations have that schema.prisma cannot declare: partial (WHERE), on an
 * expression, or with an operator class (pg_trgm's gin_trgm_ops).
 */
export function isPostgresSideIndex(indexdef: string): boolean {
  const columns = / USING \w+ \((.*)\)$/.exec(indexdef.split(" WHERE ")[0] ?? "")?.[1] ?? "";
  return / WHERE /.test(indexdef) || columns.includes("(") || /_ops\b/.test(columns);
}

async function readCatalog(url: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const catalog: Catalog = new Map();
    for (const [kind, sql] of CATALOG_QUERIES) {
      const { rows } = await client.query<{ key: string; value: string }>(sql);
      for (const row of rows) catalog.set(`${kind} ${row.key}`, row.value);
    }
    return catalog;
  } finally {
    await client.end();
  }
}

export interface DriftReport {
  differences: string[];
  /** Postgres-side pieces only the migrations have (partial and trigram indexes, partitioning): expected. */
  extras: string[];
  /** The latest migration's snapshot differs from schema.prisma (a migration is missing). */
  snapshotBehind: boolean;
}

export async function checkDrift(
  adminUrl: string,
  migrationsDir = MIGRATIONS_DIR,
  schemaPath = SCHEMA_PATH,
): Promise<DriftReport> {
  const schemaText = await readFile(schemaPath, "utf8");
  const fromMigrations = await createScratchDatabase(adminUrl, "origingate_drift_m");
  const fromSchema = await createScratchDatabase(adminUrl, "origingate_drift_s");
  try {
    await applyMigrations(fromMigrations, migrationsDir);
    const engine = await openSchemaEngine(fromSchema);
    let script: string;
    let snapshotBehind = false;
    try {
      script = await diffSql(engine, { tag: "empty" }, datamodelTarget(schemaText, schemaPath));
      const folders = await readMigrations(migrationsDir);
      const lastSnapshot = folders.findLast((f) => f.snapshot !== null)?.snapshot ?? undefined;
      snapshotBehind =
        !lastSnapshot ||
        (await diffSql(engine, datamodelTarget(lastSnapshot), datamodelTarget(schemaText, schemaPath))) !== "";
    } finally {
      await closeSchemaEngine(engine);
    }
    const client = new pg.Client({ connectionString: fromSchema });
    await client.connect();
    try {
      await client.query(script);
    } finally {
      await client.end();
    }
    const [m, s] = await Promise.all([readCatalog(fromMigrations), readCatalog(fromSchema)]);
    const differences: string[] = [];
    const extras: string[] = [];
    for (const [key, value] of s) {
      if (!m.has(key)) differences.push(`missing from migrations: ${key} (${value})`);
      else if (m.get(key) !== value)
        differences.push(`differs: ${key}\n    schema:     ${value}\n    migrations: ${m.get(key)}`);
    }
    for (const [key, value] of m) {
      if (s.has(key)) continue;
      if ((key.startsWith("index ") && isPostgresSideIndex(value)) || key.startsWith("partitioning "))
        extras.push(`${key} (${value})`);
      else differences.push(`only in migrations: ${key} (${value})`);
    }
    return { differences, extras, snapshotBehind };
  } finally {
    await dropDatabase(adminUrl, databaseName(fromMigrations));
    await dropDatabase(adminUrl, databaseName(fromSchema));
  }
}
