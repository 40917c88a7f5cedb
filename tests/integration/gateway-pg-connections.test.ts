/**
 * Postgres connections per gateway (issue 15, item 6): one gateway process, under load
 * (handshakes accepted and refused, so audit batches; policy changes, so policy reads and
 * notifications; heartbeats, reconciliation, audit summary and partition upkeep running on
 * their own timers), never holds more than 2 connections: the LISTEN connection (which also
 * carries policy reads, reconciliation and the heartbeat) and one pooled connection.
 * Counted from Postgres' side, pg_stat_activity by application_name, sampled throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, query, updatePolicy } from "../helpers/fixtures";
import { eventually, handshake, type ProcessGateway, spawnGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const A = "https://a.example.com";
const B = "https://b.example.com";

let db: string;
let gw: ProcessGateway;

async function connectionsOf(id: string): Promise<{ application_name: string }[]> {
  return query<{ application_name: string }>(
    db,
    "select application_name from pg_stat_activity where datname = current_database() and application_name like $1",
    [`%${id}`],
  );
}

beforeAll(async () => {
  db = await createTestDatabase("pgconn");
  gw = await spawnGateway(db, { RECONCILE_INTERVAL_MS: "200", HEARTBEAT_INTERVAL_MS: "200", AUDIT_FLUSH_MS: "20" });
});
afterAll(async () => {
  await gw?.stop();
});

describe("Postgres connections of one gateway process", () => {
  it("stays at 2 or fewer under handshakes, refusals and policy changes", async () => {
    const tenant = await createTenant(db, {
      policy: { origins: [A], limits: { handshakesPerMinutePerIp: 1_000_000, maxConnections: 1_000_000 } },
    });
    await eventually(async () => (await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: A })).status === 101);

    let loading = true;
    const samples: string[][] = [];
    const sampler = (async () => {
      while (loading) samples.push((await connectionsOf(gw.id)).map((r) => r.application_name));
    })();
    const load = async (origin: string, total: number) => {
      for (let i = 0; i < total; i++) {
        const o = await handshake(`${gw.wsUrl}/t/${tenant.slug}/load`, { origin });
        o.ws?.terminate();
      }
    };
    const changes = (async () => {
      for (let i = 0; i < 10; i++) await updatePolicy(db, tenant.id, { origins: i % 2 ? [A] : [A, B] });
    })();
    await Promise.all([...Array.from({ length: 8 }, (_, i) => load(i % 2 ? A : B, 60)), changes]);
    // Every event of that load written (audit batches ran), then one more policy change seen.
    const version = await updatePolicy(db, tenant.id, { origins: [A, B] });
    await eventually(async () => (await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: B })).status === 101);
    await eventually(async () => {
      const [row] = await query<{ v: number }>(
        db,
        "select (enforced_versions ->> $2)::int as v from gateway_instance where id = $1",
        [gw.id, tenant.slug],
      );
      return row?.v === version;
    });
    loading = false;
    await sampler;

    expect(samples.length).toBeGreaterThan(10);
    const most = Math.max(...samples.map((s) => s.length));
    expect(most).toBeLessThanOrEqual(2);
    // Both kinds seen: the LISTEN connection always, the pool while batches were written.
    const names = new Set(samples.flat());
    expect(names).toEqual(new Set([`origingate-listen-${gw.id}`, `origingate-gateway-${gw.id}`]));
    expect(samples.every((s) => s.includes(`origingate-listen-${gw.id}`))).toBe(true);
  });
});
