/**
 * The two ways a change reaches a gateway, each tested alone (issue 12 item 5):
 *  - LISTEN/NOTIFY with reconciliation effectively off (every 10 minutes): a new tenant, a
 *    policy change and a deletion are enforced, and the store's counters show that no
 *    reconciliation ran and notifications arrived;
 *  - reconciliation with notifications suppressed (the trigger's NOTIFY disabled while the
 *    change is written, the listener connected and silent): the change is enforced, and
 *    the counters show a stale reconciliation did it and no notification came.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, query, updatePolicy } from "../helpers/fixtures";
import { eventually, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const A = "https://a.example.com";
const B = "https://b.example.com";

async function status(gw: TestGateway, slug: string, origin: string): Promise<number> {
  const o = await handshake(`${gw.wsUrl}/t/${slug}/x`, { origin });
  o.ws?.close();
  return o.status;
}

describe("NOTIFY alone (reconciliation off)", () => {
  let db: string;
  let gw: TestGateway;
  beforeAll(async () => {
    db = await createTestDatabase("notify_only");
    gw = await startGateway(db, { reconcileIntervalMs: 600_000 });
    await gw.gateway.ctx.store.listening;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("a tenant created, changed and deleted after start is enforced through notifications only", async () => {
    const stats = gw.gateway.ctx.store.stats;
    const notificationsBefore = stats.notifications;
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    await eventually(async () => (await status(gw, tenant.slug, A)) === 101, 10_000);
    expect(await status(gw, tenant.slug, B)).toBe(403);

    await updatePolicy(db, tenant.id, { origins: [B] });
    await eventually(async () => (await status(gw, tenant.slug, B)) === 101, 10_000);
    expect(await status(gw, tenant.slug, A)).toBe(403);

    await query(db, "delete from tenant where id = $1", [tenant.id]);
    await eventually(async () => (await status(gw, tenant.slug, B)) === 404, 10_000);

    expect(stats.reconciliations).toBe(0);
    expect(stats.notifications).toBeGreaterThanOrEqual(notificationsBefore + 3);
  });
});

describe("reconciliation alone (notifications suppressed)", () => {
  let db: string;
  let gw: TestGateway;
  beforeAll(async () => {
    db = await createTestDatabase("reconcile_only");
    gw = await startGateway(db, { reconcileIntervalMs: 300 });
    await gw.gateway.ctx.store.listening;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("changes written without NOTIFY are enforced by the periodic comparison", async () => {
    const store = gw.gateway.ctx.store;
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    await eventually(() => store.get(tenant.slug), 10_000);
    const notificationsBefore = store.stats.notifications;
    const staleBefore = store.stats.staleReconciliations;
    await query(db, "alter table policy disable trigger policy_notify");
    try {
      await updatePolicy(db, tenant.id, { origins: [B] });
      const created = await createTenant(db, { policy: { origins: [B] } });
      await eventually(async () => (await status(gw, tenant.slug, B)) === 101, 10_000);
      expect(await status(gw, tenant.slug, A)).toBe(403);
      await eventually(async () => (await status(gw, created.slug, B)) === 101, 10_000);
      await query(db, "delete from tenant where id = $1", [created.id]);
      await eventually(async () => (await status(gw, created.slug, B)) === 404, 10_000);
    } finally {
      await query(db, "alter table policy enable trigger policy_notify");
    }
    expect(store.health().listening).toBe(true);
    expect(store.stats.notifications).toBe(notificationsBefore);
    expect(store.stats.staleReconciliations).toBeGreaterThanOrEqual(staleBefore + 2);
  });
});
