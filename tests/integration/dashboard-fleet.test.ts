/**
 * The fleet view from gateway_instance rows: liveness (heartbeat within 3 x interval, not
 * stopped), per-tenant drift with "behind since", and the tenant list's sync counts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFleet } from "../../app/_lib/gateways/get-fleet";
import { listGateways } from "../../app/_lib/gateways/list-gateways";
import { listTenants } from "../../app/_lib/tenants/list-tenants";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { defaultPolicyDocument } from "../../server/policy/document";
import { createTestDatabase } from "../helpers/test-db";

let db: PrismaClient;
const actor = { id: null, label: "test" };

async function gateway(
  id: string,
  options: { ageSeconds: number; stopped?: boolean; enforced: Record<string, number> },
) {
  await db.$executeRaw`
    insert into gateway_instance (id, host, pid, started_at, last_heartbeat_at, stopped_at, enforced_versions, status)
    values (${id}, 'host-1', 42, now() - interval '1 hour', now() - make_interval(secs => ${options.ageSeconds}),
            ${options.stopped ? new Date() : null}, ${JSON.stringify(options.enforced)}::jsonb, 'ok')`;
}

beforeAll(async () => {
  db = createPrisma(await createTestDatabase("dash_fleet"));
  await createTenant({ db, input: { slug: "alpha", name: "Alpha" }, actor });
  await createTenant({ db, input: { slug: "beta", name: "Beta" }, actor });
  await savePolicy({
    db,
    slug: "beta",
    expectedVersion: 1,
    document: { ...defaultPolicyDocument(), origins: [{ pattern: "https://b.example.com" }] },
    actor,
  });
  // HEARTBEAT_INTERVAL_MS defaults to 5 s: live means a heartbeat within 15 s.
  await gateway("gw-current", { ageSeconds: 1, enforced: { alpha: 1, beta: 2 } });
  await gateway("gw-behind", { ageSeconds: 2, enforced: { alpha: 1, beta: 1 } });
  await gateway("gw-silent", { ageSeconds: 60, enforced: { alpha: 1, beta: 2 } });
  await gateway("gw-stopped", { ageSeconds: 1, stopped: true, enforced: { alpha: 1, beta: 2 } });
});

afterAll(async () => {
  await db.$disconnect();
});

describe("fleet", () => {
  it("lists live gateways only by default (SPEC shape), all with includeStale", async () => {
    const { gateways } = await listGateways({ db });
    expect(gateways.map((g) => g.id).sort()).toEqual(["gw-behind", "gw-current"]);
    expect(gateways[0]).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        host: "host-1",
        startedAt: expect.any(String),
        lastHeartbeatAt: expect.any(String),
      }),
    );
    const all = await listGateways({ db, includeStale: true });
    expect(all.gateways.map((g) => [g.id, g.live]).sort()).toEqual([
      ["gw-behind", true],
      ["gw-current", true],
      ["gw-silent", false],
      ["gw-stopped", false],
    ]);
  });

  it("shows per gateway and tenant whether the latest version is enforced, and since when not", async () => {
    const fleet = await getFleet({ db });
    const behind = fleet.gateways.find((g) => g.id === "gw-behind")!;
    expect(behind.behind).toBe(1);
    const beta = behind.drift.find((d) => d.slug === "beta")!;
    const betaPolicy = await db.policy.findFirstOrThrow({ where: { tenant: { slug: "beta" } } });
    expect(beta).toEqual({
      gatewayId: "gw-behind",
      slug: "beta",
      enforced: 1,
      latest: 2,
      inSync: false,
      behindSince: betaPolicy.updatedAt.toISOString(),
    });
    expect(fleet.gateways.find((g) => g.id === "gw-current")!.behind).toBe(0);
    expect(fleet.gateways.find((g) => g.id === "gw-silent")!.drift).toEqual([]);
  });

  it("counts live gateways in sync per tenant in the tenant list", async () => {
    const tenants = await listTenants({ db });
    expect(tenants.find((t) => t.slug === "alpha")!.sync).toEqual({ live: 2, inSync: 2 });
    expect(tenants.find((t) => t.slug === "beta")!.sync).toEqual({ live: 2, inSync: 1 });
  });
});
