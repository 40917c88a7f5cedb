/**
 * `npm run db:check`: passes on the repository as committed, fails (exit 1, the
 * difference printed) when schema.prisma has a change no migration carries.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { checkDrift } from "../../server/db/drift";
import { MIGRATIONS_DIR, SCHEMA_PATH } from "../../server/db/schema-engine";
import { testEnv } from "../helpers/test-db";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

async function driftedSchema(): Promise<string> {
  const text = await readFile(SCHEMA_PATH, "utf8");
  const drifted = text.replace(
    /model Tenant \{\n/,
    'model Tenant {\n  drifted_column String? @map("drifted_column")\n',
  );
  expect(drifted).not.toBe(text);
  const dir = await mkdtemp(path.join(tmpdir(), "og-drift-"));
  const file = path.join(dir, "schema.prisma");
  await writeFile(file, drifted);
  return file;
}

describe("db:check", () => {
  it("finds no drift between schema.prisma and the migrations", async () => {
    const report = await checkDrift(testEnv().adminUrl);
    expect(report.differences).toEqual([]);
    expect(report.snapshotBehind).toBe(false);
  });

  it("reports a column that schema.prisma has and no migration creates", async () => {
    const report = await checkDrift(testEnv().adminUrl, MIGRATIONS_DIR, await driftedSchema());
    expect(report.differences.join("\n")).toContain("column tenant.drifted_column");
    expect(report.snapshotBehind).toBe(true);
  });

  it("exits non-zero from the command line on a drifted schema", async () => {
    const env = { ...process.env, DATABASE_URL: testEnv().adminUrl };
    const ok = await run(process.execPath, ["--import", "tsx", "server/cli/db.ts", "check"], { cwd: ROOT, env });
    expect(ok.stdout).toContain("agree");
    const failed = await run(
      process.execPath,
      ["--import", "tsx", "server/cli/db.ts", "check", "--schema", await driftedSchema()],
      {
        cwd: ROOT,
        env,
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect("code" in failed && failed.code).toBe(1);
    expect((failed as { stderr: string }).stderr).toContain("drifted_column");
  });
});
