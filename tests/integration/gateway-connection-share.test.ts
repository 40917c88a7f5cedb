/**
 * One client address's share of a tenant's connections (issue 11 item 10, SPEC §5
 * `limits.maxConnectionsPerIp`, default 100): one address can no longer open every slot
 * (keeping them alive with its pongs) and deny everyone else. Real gateway, real sockets,
 * Postgres; client addresses set through a trusted proxy's X-Forwarded-For.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { parseTrustProxy } from "../../server/net/client-address";
import { createTenant, type TenantFixture } from "../helpers/fixtures";
import { closed, eventually, expectRefusal, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";

let db: string;
let gw: TestGateway;
let shared: TenantFixture;
let defaults: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase("gwshare");
  shared = await createTenant(db, {
    policy: { origins: [ORIGIN], limits: { maxConnections: 4, maxConnectionsPerIp: 2 } },
  });
  defaults = await createTenant(db, { policy: { origins: [ORIGIN], limits: { maxConnections: 150 } } });
  gw = await startGateway(db, { trustProxy: parseTrustProxy("true") });
});

afterAll(async () => {
  await gw?.stop();
});

const from = (address: string) => ({ origin: ORIGIN, headers: { "X-Forwarded-For": address } });

async function open(tenant: TenantFixture, address: string): Promise<WebSocket> {
  const outcome = await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, from(address));
  expect(outcome.status).toBe(101);
  return outcome.ws!;
}

async function refusal(tenant: TenantFixture, address: string) {
  const outcome = await expectRefusal(`${gw.wsUrl}/t/${tenant.slug}/x`, from(address));
  return [outcome.status, outcome.reason];
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => {
      ws.close();
      return closed(ws);
    }),
  );
}

describe("maxConnectionsPerIp", () => {
  it("one address takes its share and no more, while another address still gets in", async () => {
    const a = [await open(shared, "198.51.100.1"), await open(shared, "198.51.100.1")];
    expect(await refusal(shared, "198.51.100.1")).toEqual([503, "connection_limit"]);
    const b = [await open(shared, "198.51.100.2"), await open(shared, "198.51.100.2")];
    // Now the tenant-wide limit is reached too: a third address is refused.
    expect(await refusal(shared, "198.51.100.3")).toEqual([503, "connection_limit"]);
    // A slot given back by A is A's to take again.
    a[0]!.close();
    await closed(a[0]!);
    const again = await eventually(async () => {
      const o = await handshake(`${gw.wsUrl}/t/${shared.slug}/x`, from("198.51.100.1"));
      if (o.status !== 101) return null;
      return o.ws!;
    });
    await closeAll([a[1]!, again, ...b]);
    const connections = gw.gateway.ctx.connections;
    await eventually(() => connections.count(shared.slug) === 0);
    // The per-address counters are deleted at zero: nothing is kept for addresses gone.
    expect(connections.addressCounters).toBe(0);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^origingate_connection_address_counters 0$/m);
  });

  it("the default share is 100 connections per address", async () => {
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 100; i++) sockets.push(await open(defaults, "198.51.100.10"));
    expect(await refusal(defaults, "198.51.100.10")).toEqual([503, "connection_limit"]);
    sockets.push(await open(defaults, "198.51.100.11"));
    await closeAll(sockets);
    await eventually(() => gw.gateway.ctx.connections.addressCounters === 0);
  });
});
