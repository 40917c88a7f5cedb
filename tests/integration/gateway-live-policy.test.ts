/**
 * Live policy: changes committed to Postgres are enforced by every running gateway
 * process without a restart; a lost notification is healed by reconciliation; a killed
 * LISTEN connection reconnects and reloads; expiring entries lapse by themselves; with
 * Postgres stopped, enforcement continues on the last loaded policy and recovers after.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDatabase, freePort, type PgServer, startEmbeddedPostgres } from "../../server/db/pg-server";
import { applyMigrations } from "../../server/db/schema-engine";
import { createTenant, query, updatePolicy } from "../helpers/fixtures";
import {
  eventually,
  expectRefusal,
  handshake,
  type ProcessGateway,
  spawnGateway,
  startGateway,
  type TestGateway,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const A = "https://a.example.com";
const B = "https://b.example.com";

async function status(url: string, origin: string): Promise<number> {
  const o = await handshake(url, { origin });
  o.ws?.close();
  return o.status;
}

describe("policy changes reach every gateway process", () => {
  let db: string;
  let gateways: ProcessGateway[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("live");
    gateways = await Promise.all([spawnGateway(db), spawnGateway(db)]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
  });

  it("enforces a change on both processes without a restart, and reports the new version", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    for (const g of gateways) {
      await eventually(async () => (await status(`${g.wsUrl}/t/${tenant.slug}/x`, A)) === 101, 5000);
      expect(await status(`${g.wsUrl}/t/${tenant.slug}/x`, B)).toBe(403);
    }
    const version = await updatePolicy(db, tenant.id, { origins: [B] });
    for (const g of gateways) {
      await eventually(async () => (await status(`${g.wsUrl}/t/${tenant.slug}/x`, B)) === 101, 5000);
      expect(await status(`${g.wsUrl}/t/${tenant.slug}/x`, A)).toBe(403);
    }
    await eventually(async () => {
      const rows = await query<{ id: string; enforced_versions: Record<string, number> }>(
        db,
        "select id, enforced_versions from gateway_instance where id = any($1)",
        [gateways.map((g) => g.id)],
      );
      return rows.length === 2 && rows.every((r) => r.enforced_versions[tenant.slug] === version);
    });
  });

  it("stops serving a deleted tenant", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    const g = gateways[0]!;
    await eventually(async () => (await status(`${g.wsUrl}/t/${tenant.slug}/x`, A)) === 101, 5000);
    await query(db, "delete from tenant where id = $1", [tenant.id]);
    await eventually(async () => (await status(`${g.wsUrl}/t/${tenant.slug}/x`, A)) === 404, 5000);
  });
});

describe("healing", () => {
  let db: string;
  let gw: TestGateway;
  beforeAll(async () => {
    db = await createTestDatabase("heal");
    // Reconciliation every 500 ms (tests/helpers/gateway.ts).
    gw = await startGateway(db);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("a change whose notification was lost is picked up by reconciliation", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    await eventually(() => gw.gateway.ctx.store.get(tenant.slug));
    await query(db, "alter table policy disable trigger policy_notify");
    try {
      await updatePolicy(db, tenant.id, { origins: [B] });
      // No notification was sent; the listener is fine; only reconciliation can notice.
      expect(gw.gateway.ctx.store.health().listening).toBe(true);
      await eventually(async () => (await status(`${gw.wsUrl}/t/${tenant.slug}/x`, B)) === 101, 5000);
      expect(await status(`${gw.wsUrl}/t/${tenant.slug}/x`, A)).toBe(403);
    } finally {
      await query(db, "alter table policy enable trigger policy_notify");
    }
  });

  it("a killed LISTEN connection reconnects and reloads what changed meanwhile", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    await eventually(() => gw.gateway.ctx.store.get(tenant.slug));
    const killed = await query<{ ok: boolean }>(
      db,
      "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1",
      [`origingate-listen-${gw.gateway.id}`],
    );
    expect(killed.length).toBe(1);
    await updatePolicy(db, tenant.id, { origins: [B] });
    await eventually(async () => (await status(`${gw.wsUrl}/t/${tenant.slug}/x`, B)) === 101, 5000);
    await eventually(() => gw.gateway.ctx.store.health().listening, 5000);
  });

  it("an allowlist entry lapses at its expiry without any database change", async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const tenant = await createTenant(db, { policy: { origins: [{ pattern: A, expiresAt }, B] } });
    await eventually(() => gw.gateway.ctx.store.get(tenant.slug));
    expect(await status(`${gw.wsUrl}/t/${tenant.slug}/x`, A)).toBe(101);
    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 50));
    const refused = await expectRefusal(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: A });
    expect(refused.reason).toBe("origin_not_allowed");
    expect(await status(`${gw.wsUrl}/t/${tenant.slug}/x`, B)).toBe(101);
  });
});

describe("Postgres stopped under traffic", () => {
  let server: PgServer;
  let dataDir: string;
  let port: number;
  let url: string;
  let gw: TestGateway;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "og-pgstop-"));
    port = await freePort();
    server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    url = await ensureDatabase(server.adminUrl, "origingate");
    await applyMigrations(url);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await server?.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps enforcing the last loaded policy, says degraded, and recovers after a restart", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    gw = await startGateway(url);
    const endpoint = `${gw.wsUrl}/t/${tenant.slug}/x`;
    expect(await status(endpoint, A)).toBe(101);

    await server.stop();
    // Traffic while the database is gone: same decisions as before.
    for (let i = 0; i < 20; i++) {
      expect(await status(endpoint, A)).toBe(101);
      expect(await status(endpoint, B)).toBe(403);
    }
    const health = await eventually(async () => {
      const h = (await (await fetch(`${gw.httpUrl}/healthz`)).json()) as {
        status: string;
        policy: { policyAgeSeconds: number };
      };
      return h.status === "degraded" ? h : null;
    }, 10_000);
    expect(health.policy.policyAgeSeconds).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(200);

    server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    await eventually(async () => {
      const h = (await (await fetch(`${gw.httpUrl}/healthz`)).json()) as { status: string };
      return h.status === "ok";
    }, 20_000);
    await updatePolicy(url, tenant.id, { origins: [B] });
    await eventually(async () => (await status(endpoint, B)) === 101, 10_000);
    // Every handshake made while Postgres was down reaches the audit table after recovery.
    await eventually(async () => {
      const rows = await query<{ n: number }>(
        url,
        "select coalesce(sum(count), 0)::int as n from audit_event where tenant = $1 and kind = 'handshake'",
        [tenant.slug],
      );
      return rows[0]!.n >= 42;
    }, 15_000);
  }, 90_000);
});
