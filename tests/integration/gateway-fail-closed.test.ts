/**
 * The gateway's exits (issue 12 items 3 and 4), against a real gateway, real sockets and
 * Postgres:
 * - a fault after a connection slot was reserved (and after the upstream connected)
 *   refuses that client with 503 `gateway_unavailable`, audits the handshake exactly once
 *   and gives back the slot and the upstream — it used to leak both, silently;
 * - a deleted tenant's rate-limit counters are dropped (RateLimits.forget);
 * - the ws servers that enforce each tenant's message size are per gateway and bounded,
 *   and a size whose server was dropped is still enforced;
 * - each reason code means one thing: not ready / stopping / a limiter fault are
 *   `gateway_unavailable` (never `upstream_unavailable` or `rate_limited`), and an upgrade
 *   to a path that is no endpoint is 404 `bad_handshake` (not `tenant_unknown`).
 * Faults are injected by replacing one method of the live gateway's parts in process.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { Gateway } from "../../server/gateway/gateway";
import { MAX_SERVERS } from "../../server/gateway/upgrade-servers";
import { createLogger } from "../../server/log";
import type { TenantRuntime } from "../../server/policy-store/policy-store";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import {
  closed,
  eventually,
  expectRefusal,
  handshake,
  nextMessage,
  rawRequest,
  startGateway,
  type TestGateway,
  upgradeRequest,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { flushAudit } from "./tester-helpers";

const ORIGIN = "https://app.example.com";

let db: string;
let gw: TestGateway;
let single: TenantFixture;
let proxied: TenantFixture;
let upstream: WebSocketServer;

beforeAll(async () => {
  upstream = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => upstream.once("listening", r));
  const port = (upstream.address() as AddressInfo).port;
  db = await createTestDatabase("gwfail");
  single = await createTenant(db, { policy: { origins: [ORIGIN], limits: { maxConnections: 1 } } });
  proxied = await createTenant(db, {
    upstreamUrl: `ws://127.0.0.1:${port}/base`,
    policy: { origins: [ORIGIN], limits: { maxConnections: 1 } },
  });
  gw = await startGateway(db, { audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  for (const c of upstream?.clients ?? []) c.terminate();
  await new Promise((r) => upstream?.close(r));
});

const url = (t: TenantFixture, rest = "/x") => `${gw.wsUrl}/t/${t.slug}${rest}`;

/** Audit rows of the handshakes of `tenant` whose user agent is `agent`, by decision and reason. */
async function auditOf(tenant: string, agent: string) {
  await flushAudit(gw);
  return query<{ decision: string; reason: string; n: number }>(
    db,
    `select decision, reason, sum(count)::int as n from audit_event
      where tenant = $1 and user_agent = $2 and kind = 'handshake' group by decision, reason order by reason`,
    [tenant, agent],
  );
}

describe("a fault after the slot was reserved (issue 12 item 3)", () => {
  it("answers 503 gateway_unavailable, audits once, and the slot is free for the next client", async () => {
    const store = gw.gateway.ctx.store;
    const get = store.get.bind(store);
    // The runtime's upstream URL is read right after the slot is reserved: make that read fail once.
    let armed = true;
    store.get = (slug: string) => {
      const runtime = get(slug);
      if (!runtime || slug !== single.slug || !armed) return runtime;
      armed = false;
      return new Proxy(runtime, {
        get(target, property, receiver) {
          if (property === "upstreamUrl") throw new Error("injected fault");
          return Reflect.get(target, property, receiver) as unknown;
        },
      }) as TenantRuntime;
    };
    try {
      const outcome = await expectRefusal(url(single), { origin: ORIGIN, headers: { "User-Agent": "fault-1" } });
      expect([outcome.status, outcome.reason]).toEqual([503, "gateway_unavailable"]);
    } finally {
      store.get = get;
    }
    expect(gw.gateway.ctx.connections.count(single.slug)).toBe(0);
    expect(gw.gateway.ctx.connections.addressCounters).toBe(0);
    const next = await handshake(url(single), { origin: ORIGIN, headers: { "User-Agent": "fault-1" } });
    expect(next.status).toBe(101);
    next.ws!.close();
    await closed(next.ws!);
    expect(await auditOf(single.slug, "fault-1")).toEqual([
      { decision: "accepted", reason: "allowed", n: 1 },
      { decision: "rejected", reason: "gateway_unavailable", n: 1 },
    ]);
  });

  it("after the upstream connected: the upstream is closed, the slot freed, the handshake audited once", async () => {
    const connections = gw.gateway.ctx.connections;
    const track = connections.track;
    connections.track = () => {
      throw new Error("injected fault");
    };
    const before = upstream.clients.size;
    try {
      // ws has written its 101 when it calls back: the client sees the connection cut at once.
      const outcome = await handshake(url(proxied), { origin: ORIGIN, headers: { "User-Agent": "fault-2" } }).then(
        async (o) => (o.ws ? { ...o, close: await closed(o.ws) } : o),
        (error: Error) => ({ error: error.message }),
      );
      expect(outcome).not.toMatchObject({ status: 101, close: { code: 1000 } });
    } finally {
      connections.track = track;
    }
    await eventually(() => upstream.clients.size === before);
    expect(connections.count(proxied.slug)).toBe(0);
    expect(connections.addressCounters).toBe(0);
    const next = await handshake(url(proxied), { origin: ORIGIN, headers: { "User-Agent": "fault-2" } });
    expect(next.status).toBe(101);
    next.ws!.close();
    await closed(next.ws!);
    const rows = await eventually(async () => {
      const r = await auditOf(proxied.slug, "fault-2");
      return r.reduce((n, x) => n + x.n, 0) === 2 ? r : null;
    });
    expect(rows).toEqual([
      { decision: "accepted", reason: "allowed", n: 1 },
      { decision: "rejected", reason: "gateway_unavailable", n: 1 },
    ]);
  });
});

describe("per-gateway bounded state (issue 12 item 3)", () => {
  it("a deleted tenant's rate-limit counters are dropped", async () => {
    const doomed = await createTenant(db, { policy: { origins: [ORIGIN] } });
    await eventually(() => gw.gateway.ctx.store.get(doomed.slug));
    const o = await handshake(url(doomed), { origin: ORIGIN });
    o.ws?.close();
    const limits = gw.gateway.ctx.rateLimits;
    const scopes = limits.sizes().tenantScopes;
    expect(scopes).toBeGreaterThanOrEqual(1);
    await query(db, "delete from tenant where id = $1", [doomed.id]);
    await eventually(() => gw.gateway.ctx.store.get(doomed.slug) === undefined);
    await eventually(() => limits.sizes().tenantScopes === scopes - 1);
  });

  it(`at most ${MAX_SERVERS} message-size servers, and every tenant's size is still enforced`, async () => {
    const tenants: Array<{ tenant: TenantFixture; max: number }> = [];
    for (let i = 0; i < MAX_SERVERS + 8; i++) {
      const max = 1000 + i;
      tenants.push({
        tenant: await createTenant(db, { policy: { origins: [ORIGIN], limits: { maxMessageBytes: max } } }),
        max,
      });
    }
    await eventually(() => tenants.every(({ tenant }) => gw.gateway.ctx.store.get(tenant.slug)));
    for (const { tenant } of tenants) {
      const o = await handshake(url(tenant), { origin: ORIGIN });
      expect(o.status).toBe(101);
      o.ws!.close();
      expect(gw.gateway.ctx.upgrades.size).toBeLessThanOrEqual(MAX_SERVERS);
    }
    // The first tenants' servers were dropped along the way; their limits still hold.
    for (const { tenant, max } of tenants.slice(0, 3)) {
      const o = await handshake(url(tenant), { origin: ORIGIN });
      const ws = o.ws!;
      ws.send(Buffer.alloc(max));
      expect((await nextMessage(ws)).data.length).toBe(max);
      ws.send(Buffer.alloc(max + 1));
      expect((await closed(ws)).code).toBe(1009);
    }
  });
});

describe("each reason code means one thing (issue 12 item 4)", () => {
  it("a limiter fault is 503 gateway_unavailable, not rate_limited", async () => {
    const limits = gw.gateway.ctx.rateLimits;
    const allowTenant = limits.allowTenant;
    limits.allowTenant = () => {
      throw new Error("injected limiter fault");
    };
    try {
      const outcome = await expectRefusal(url(single), { origin: ORIGIN });
      expect([outcome.status, outcome.reason]).toEqual([503, "gateway_unavailable"]);
    } finally {
      limits.allowTenant = allowTenant;
    }
  });

  it("while stopping: 503 gateway_unavailable, not upstream_unavailable", async () => {
    gw.gateway.ctx.stopping = true;
    try {
      const outcome = await expectRefusal(url(single), { origin: ORIGIN });
      expect([outcome.status, outcome.reason]).toEqual([503, "gateway_unavailable"]);
    } finally {
      gw.gateway.ctx.stopping = false;
    }
  });

  it("an upgrade to a path that is no endpoint is 404 bad_handshake, not tenant_unknown", async () => {
    for (const path of ["/foo", "/t", "/admin/nothing", "/tenant/x"]) {
      const res = await rawRequest(gw.port, upgradeRequest(path, { Origin: ORIGIN }));
      expect([res.status, res.headers["x-origingate-reason"]]).toEqual([404, "bad_handshake"]);
    }
  });

  it("before policies are loaded: 503 gateway_unavailable", async () => {
    // A gateway whose database does not exist never becomes ready.
    const missing = db.replace(/\/[^/]+$/, "/origingate_no_such_database");
    const notReady = new Gateway({
      databaseUrl: missing,
      logger: createLogger({ name: "test-gateway", level: "silent" }),
      host: "127.0.0.1",
      dashboardUrl: "http://localhost:3000",
      drainTimeoutMs: 100,
    });
    const { port } = await notReady.start(0);
    // (stop() then spends its audit flush deadline: the refusal's event has nowhere to go.)
    try {
      const outcome = await expectRefusal(`ws://127.0.0.1:${port}/t/${single.slug}/x`, { origin: ORIGIN });
      expect([outcome.status, outcome.reason]).toEqual([503, "gateway_unavailable"]);
    } finally {
      await notReady.stop();
    }
  });
});
