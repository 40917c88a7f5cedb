/**
 * Migration tests that need a database as an older release left it: apply the migration
 * chain up to (and including) one folder, write rows in that old shape, then apply the rest
 * and check what the conversion made of them.
 */
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { applyMigrations, MIGRATIONS_DIR, readMigrations } from "../../server/db/schema-engine";

/** Applies prisma/migrations up to and including the folder whose name ends with `lastName`. */
export async function migrateThrough(databaseUrl: string, lastName: string): Promise<string[]> {
  const folders = await readMigrations();
  const index = folders.findIndex((f) => f.name.endsWith(lastName));
  if (index < 0) throw new Error(`no migration named *${lastName}`);
  const dir = await mkdtemp(path.join(tmpdir(), "og-migrations-"));
  try {
    await mkdir(dir, { recursive: true });
    for (const folder of folders.slice(0, index + 1)) {
      await cp(path.join(MIGRATIONS_DIR, folder.name), path.join(dir, folder.name), { recursive: true });
    }
    return await applyMigrations(databaseUrl, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
