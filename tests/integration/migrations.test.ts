/**
 * Migrations through the Wasm schema engine: apply to an empty database, re-apply
 * (idempotent), and the Postgres-side pieces (NOTIFY trigger, generation bump) work.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, databaseName, dropDatabase } from "../../server/db/pg-server";
import { applyMigrations, readMigrations } from "../../server/db/schema-engine";
import { testEnv } from "../helpers/test-db";

describe("migrations", () => {
  let url: string;
  beforeAll(async () => {
    url = await createScratchDatabase(testEnv().adminUrl, `${testEnv().prefix}_mig`);
  });
  afterAll(async () => {
    await dropDatabase(testEnv().adminUrl, databaseName(url));
  });

  it("applies every migration to an empty database, then nothing on a second run", async () => {
    const folders = await readMigrations();
    expect(folders.length).toBeGreaterThan(0);
    const first = await applyMigrations(url);
    expect(first).toEqual(folders.map((f) => f.name));
    const second = await applyMigrations(url);
    expect(second).toEqual([]);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ migration_name: string; finished_at: Date | null }>(
        "select migration_name, finished_at from _prisma_migrations order by migration_name",
      );
      expect(rows.map((r) => r.migration_name)).toEqual(folders.map((f) => f.name));
      expect(rows.every((r) => r.finished_at !== null)).toBe(true);
      const tables = await db.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public'",
      );
      const names = tables.rows.map((r) => r.table_name);
      for (const t of [
        "tenant",
        "policy",
        "allowed_origin",
        "policy_revision",
        "audit_event",
        "gateway_instance",
        "user",
        "session",
        "api_token",
      ]) {
        expect(names).toContain(t);
      }
    } finally {
      await db.end();
    }
  });

  it("bumps the generation and notifies once per transaction on any policy write, even raw SQL", async () => {
    const db = new pg.Client({ connectionString: url });
    const listener = new pg.Client({ connectionString: url });
    await db.connect();
    await listener.connect();
    try {
      const received: string[] = [];
      listener.on("notification", (n) => received.push(n.payload ?? ""));
      await listener.query("listen policy_changed");
      const { rows } = await db.query<{ id: string }>(
        "insert into tenant (id, slug, name, token_secret) values (gen_random_uuid(), 'mig-t', 'M', 's') returning id",
      );
      const id = rows[0]!.id;
      await db.query("insert into policy (tenant_id) values ($1)", [id]);
      await db.query("begin");
      for (let i = 0; i < 3; i++) {
        await db.query("insert into allowed_origin (id, tenant_id, pattern) values (gen_random_uuid(), $1, $2)", [
          id,
          `https://a${i}.example.com`,
        ]);
      }
      await db.query("commit");
      // Notifications arrive in commit order: once this marker is in, everything before it is.
      await db.query("select pg_notify('policy_changed', 'marker')");
      while (!received.includes("marker")) await new Promise((r) => setTimeout(r, 10));
      // One notification for the policy insert, one for the transaction of three inserts.
      expect(received).toEqual([id, id, "marker"]);
      const gen = await db.query<{ generation: number }>("select generation from policy where tenant_id = $1", [id]);
      expect(gen.rows[0]!.generation).toBe(3);
      await db.query("update tenant set upstream_url = 'ws://127.0.0.1:1' where id = $1", [id]);
      const gen2 = await db.query<{ generation: number }>("select generation from policy where tenant_id = $1", [id]);
      expect(gen2.rows[0]!.generation).toBe(4);
    } finally {
      await db.end();
      await listener.end();
    }
  });
});
