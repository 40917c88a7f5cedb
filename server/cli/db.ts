/**
 * Database commands, around Prisma's Wasm schema engine (see server/db/schema-engine.ts).
 *
 *   npm run db:migrate                 apply pending migrations to DATABASE_URL (idempotent)
 *   npm run db:migration:new -- <name> write the SQL for the change in schema.prisma
 *   npm run db:check [-- --schema F]   exit 1 and print the difference when schema.prisma (or F)
 *                                      and prisma/migrations disagree
 *
 * `new` and `check` need a Postgres server to run the engine against (it connects even to
 * diff): DATABASE_URL's server, or a temporary embedded one when it is unset.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfigOrExit, redact } from "../config";
import { checkDrift } from "../db/drift";
import { createScratchDatabase, databaseName, dropDatabase, scratchServer } from "../db/pg-server";
import {
  applyMigrations,
  closeSchemaEngine,
  datamodelTarget,
  diffSql,
  MIGRATIONS_DIR,
  openSchemaEngine,
  readMigrations,
  SCHEMA_PATH,
  SNAPSHOT_FILE,
} from "../db/schema-engine";

async function migrate(): Promise<number> {
  const config = loadConfigOrExit();
  if (!config.DATABASE_URL) {
    console.error("DATABASE_URL is not set. (`npm start` migrates its embedded database by itself.)");
    return 2;
  }
  const applied = await applyMigrations(config.DATABASE_URL);
  console.log(
    applied.length === 0
      ? `Database ${redact(config.DATABASE_URL)} is up to date.`
      : `Applied ${applied.length} migration(s) to ${redact(config.DATABASE_URL)}:\n${applied.map((n) => `  ${n}`).join("\n")}`,
  );
  return 0;
}

async function newMigration(name: string | undefined): Promise<number> {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error("Usage: npm run db:migration:new -- <name>   (lower-case letters, digits and _ only)");
    return 2;
  }
  const schemaText = await readFile(SCHEMA_PATH, "utf8");
  const previous = (await readMigrations()).filter((f) => f.snapshot !== null).at(-1);
  const server = await scratchServer();
  const scratch = await createScratchDatabase(server.adminUrl, "origingate_newmig");
  try {
    const engine = await openSchemaEngine(scratch);
    try {
      const from = previous?.snapshot ? datamodelTarget(previous.snapshot) : ({ tag: "empty" } as const);
      const sql = await diffSql(engine, from, datamodelTarget(schemaText));
      if (sql === "") {
        console.log("schema.prisma has no changes since the last migration; nothing written.");
        return 0;
      }
      const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
      const dir = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, "migration.sql"), sql);
      await writeFile(path.join(dir, SNAPSHOT_FILE), schemaText);
      console.log(`Wrote ${path.relative(process.cwd(), dir)}/migration.sql — review it, then run npm run db:check.`);
      console.log("Postgres-side extras (triggers, partial indexes) go at its end, below a comment.");
      return 0;
    } finally {
      await closeSchemaEngine(engine);
    }
  } finally {
    await dropDatabase(server.adminUrl, databaseName(scratch));
    await server.stop();
  }
}

async function check(schemaPath: string): Promise<number> {
  const server = await scratchServer();
  try {
    const report = await checkDrift(server.adminUrl, MIGRATIONS_DIR, schemaPath);
    for (const extra of report.extras) console.log(`ok (Postgres-side extra): ${extra}`);
    if (report.differences.length > 0) {
      console.error("schema.prisma and prisma/migrations disagree:");
      for (const d of report.differences) console.error(`  ${d}`);
      if (report.snapshotBehind)
        console.error("Run `npm run db:migration:new -- <name>` to write the missing migration.");
      return 1;
    }
    if (report.snapshotBehind) {
      console.error(
        "The newest migration's schema.prisma snapshot differs from prisma/schema.prisma (a change with no effect on\n" +
          "the database, e.g. a renamed relation field). Run `npm run db:migration:new -- <name>` to record it.",
      );
      return 1;
    }
    console.log("schema.prisma and prisma/migrations agree.");
    return 0;
  } finally {
    await server.stop();
  }
}

const [command, ...args] = process.argv.slice(2);
const commands: Record<string, () => Promise<number>> = {
  migrate,
  new: () => newMigration(args.find((a) => !a.startsWith("-"))),
  check: () => {
    const i = args.indexOf("--schema");
    return check(i >= 0 && args[i + 1] ? path.resolve(args[i + 1] as string) : SCHEMA_PATH);
  },
};
const run = command ? commands[command] : undefined;
if (!run) {
  console.error("Usage: tsx server/cli/db.ts migrate|new <name>|check");
  process.exit(2);
}
run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
