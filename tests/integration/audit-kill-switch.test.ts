/**
 * Issue 11 item 1, "Audit trail kill switch", against real gateways and a real Postgres:
 *  a. every value is clipped before it is queued: a handshake to `/t/<3,000 random
 *     characters>/x` made Postgres refuse the whole batch (index row too large) and the
 *     pipeline retried it forever, so nothing after it was ever written;
 *  b. a batch Postgres refuses is split until the refused row is isolated: that row is stored
 *     clipped harder or dropped and counted with its cause, every other row is written; an
 *     unavailable Postgres is retried, never split;
 *  c. `/healthz` reports the pipeline (`audit.status` ok | stalled | dropping, queue depth,
 *     oldest pending row) and says `degraded` when it is not ok.
 * Rows Postgres refuses even after clipping cannot come from a client any more, so the
 * splitting tests add a CHECK constraint to their own database that refuses chosen rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../../server/admin/metrics";
import { AuditPipeline } from "../../server/audit/pipeline";
import type { AuditEventInput } from "../../server/audit/types";
import { TEXT_LIMITS } from "../../server/clip";
import { createPool } from "../../server/db/pool";
import { createLogger } from "../../server/log";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { eventually, expectRefusal, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";

interface Health {
  status: string;
  policySource: string;
  audit: { status: string; queueDepth: number; oldestPendingMs: number };
}

async function healthOf(g: TestGateway): Promise<Health> {
  const res = await fetch(`${g.httpUrl}/healthz`);
  expect(res.status).toBe(200);
  return (await res.json()) as Health;
}

async function count(db: string, where: string, values: unknown[] = []): Promise<number> {
  const rows = await query<{ n: number }>(
    db,
    `select coalesce(sum(count), 0)::int as n from audit_event where ${where}`,
    values,
  );
  return rows[0]!.n;
}

/** Opens an allowed connection with a unique path, closes it, and returns that path. */
async function acceptedHandshake(g: TestGateway, t: TenantFixture, headers: Record<string, string> = {}) {
  const path = `/ok-${randomBytes(4).toString("hex")}`;
  const o = await handshake(`${g.wsUrl}/t/${t.slug}${path}`, { origin: ORIGIN, headers });
  expect(o.status).toBe(101);
  o.ws?.close();
  return path;
}

function event(overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    ts: Date.now(),
    kind: "handshake",
    tenant: "split-test",
    decision: "accepted",
    reason: "allowed",
    origin: ORIGIN,
    originNormalized: ORIGIN,
    remoteAddr: "10.0.0.1",
    userAgent: "agent",
    path: "/x",
    subprotocol: null,
    policyVersion: 1,
    matchedPattern: ORIGIN,
    ...overrides,
  };
}

function newPipeline(db: string, options: { flushMs?: number; stallAfterMs?: number } = {}) {
  const pool = createPool(db, { max: 2 });
  const metrics = createMetrics();
  const gatewayId = `gw-split-${randomBytes(3).toString("hex")}`;
  const pipeline = new AuditPipeline({
    pool,
    gatewayId,
    logger: createLogger({ name: "t", level: "silent" }),
    metrics,
    flushMs: options.flushMs ?? 10_000, // tests flush explicitly
    stallAfterMs: options.stallAfterMs,
  });
  return { pool, metrics, pipeline, gatewayId };
}

describe("a. untrusted values are clipped before they are queued", () => {
  let db: string;
  let gw: TestGateway;
  let tenant: TenantFixture;

  beforeAll(async () => {
    db = await createTestDatabase("auditclip");
    tenant = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
    gw = await startGateway(db, { audit: { flushMs: 20 } });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("a handshake to /t/<3,000 random characters>/x is stored clipped, and later handshakes are written", async () => {
    const slug = randomBytes(1500).toString("hex"); // 3,000 characters
    const refused = await expectRefusal(`${gw.wsUrl}/t/${slug}/x`, { origin: ORIGIN });
    expect([refused.status, refused.reason]).toEqual([404, "tenant_unknown"]);
    const after = await acceptedHandshake(gw, tenant);

    // The accepted handshake after the attack reaches Postgres (it never did: the batch
    // holding the 3,000-character slug was refused and retried forever).
    await eventually(
      async () => (await count(db, "tenant = $1 and path = $2 and kind = 'handshake'", [tenant.slug, after])) === 1,
      10_000,
    );
    const [row] = await query<{ tenant: string; reason: string; path: string }>(
      db,
      "select tenant, reason, path from audit_event where reason = 'tenant_unknown' and starts_with($1, left(tenant, 100))",
      [slug],
    );
    expect(row!.reason).toBe("tenant_unknown");
    expect(row!.tenant.length).toBeLessThanOrEqual(TEXT_LIMITS.tenant);
    expect(row!.tenant.startsWith(slug.slice(0, 100))).toBe(true);
    const health = await healthOf(gw);
    expect(health.audit.status).toBe("ok");
    expect(health.status).toBe("ok");
  });

  it("bounds every stored column whatever length the client sent", async () => {
    const long = (c: string, n: number) => c.repeat(n);
    // Within the 16 KB header limit: request line and headers together about 14 KB.
    const origin = `https://${long("o", 3000)}.example.com`;
    const slug = `${long("s", 3000)}ü`;
    const refused = await expectRefusal(`${gw.wsUrl}/t/${encodeURIComponent(slug)}/${long("p", 3000)}`, {
      origin,
      headers: { "User-Agent": long("u", 3000) },
    });
    expect(refused.status).toBe(404);
    const path = `/ok-${long("q", 3000)}`;
    const accepted = await handshake(`${gw.wsUrl}/t/${tenant.slug}${path}`, {
      origin: ORIGIN,
      headers: { "User-Agent": long("v", 6000) },
      protocols: [long("y", 3000)],
    });
    expect(accepted.status).toBe(101);
    accepted.ws?.close();
    const stored = `${path.slice(0, TEXT_LIMITS.path - 1)}…`;
    await eventually(async () => (await count(db, "tenant = $1 and path = $2", [tenant.slug, stored])) === 2, 10_000);
    const [lengths] = await query<Record<string, number>>(
      db,
      `select max(length(tenant)) as tenant, max(length(origin)) as origin, max(length(origin_normalized)) as "originNormalized",
              max(length(user_agent)) as "userAgent", max(length(path)) as path, max(length(subprotocol)) as subprotocol,
              max(length(remote_addr)) as "remoteAddr", max(length(matched_pattern)) as "matchedPattern",
              max(length(reason)) as reason
         from audit_event`,
    );
    for (const [column, max] of Object.entries(lengths!)) {
      expect(max ?? 0, column).toBeLessThanOrEqual(TEXT_LIMITS[column as keyof typeof TEXT_LIMITS]);
    }
    expect(lengths!.userAgent).toBe(TEXT_LIMITS.userAgent);
    expect(lengths!.tenant).toBe(TEXT_LIMITS.tenant);
    expect(lengths!.subprotocol).toBe(TEXT_LIMITS.subprotocol);
  });
});

describe("b. a batch Postgres refuses is split; one row never blocks the rest", () => {
  let db: string;

  beforeAll(async () => {
    db = await createTestDatabase("auditsplit");
    // Stand-ins for data Postgres refuses: a user agent longer than 100 characters (fits
    // once clipped harder), and one starting with "poison" (refused even clipped).
    await query(
      db,
      `alter table audit_event
         add constraint test_short_agent check (user_agent is null or length(user_agent) <= 100),
         add constraint test_no_poison check (user_agent is null or user_agent not like 'poison%')`,
    );
  });

  it("stores a refused row clipped harder and writes every other row of its batch", async () => {
    const { pool, metrics, pipeline } = newPipeline(db);
    try {
      const tenant = `clip-${randomBytes(3).toString("hex")}`;
      for (let i = 0; i < 300; i++) {
        pipeline.record(event({ tenant, path: `/r${i}`, userAgent: i === 137 ? "a".repeat(200) : "agent" }));
      }
      await pipeline.flush();
      expect(pipeline.depth).toBe(0);
      expect(await count(db, "tenant = $1", [tenant])).toBe(300);
      const [row] = await query<{ user_agent: string; path: string; details: { clipped: boolean; cause: string } }>(
        db,
        "select user_agent, path, details from audit_event where tenant = $1 and details is not null",
        [tenant],
      );
      expect(row!.path).toBe("/r137");
      expect(row!.user_agent.length).toBe(64);
      expect(row!.details.clipped).toBe(true);
      expect(row!.details.cause).toMatch(/^23514 .*test_short_agent/);
      // In queue order: ids follow the order the rows were recorded.
      const paths = await query<{ path: string }>(db, "select path from audit_event where tenant = $1 order by id", [
        tenant,
      ]);
      expect(paths.map((p) => p.path)).toEqual(Array.from({ length: 300 }, (_, i) => `/r${i}`));
      expect(pipeline.totals).toMatchObject({ written: 300, dropped: 0, clipped: 1 });
      expect((await metrics.auditRowsRefused.get()).values).toEqual([
        expect.objectContaining({ labels: { outcome: "clipped" }, value: 1 }),
      ]);
      expect(pipeline.health().status).toBe("ok");
    } finally {
      await pipeline.stop();
      await pool.end();
    }
  });

  it("drops and counts, with its cause, a row refused even clipped; everything else is written", async () => {
    const { pool, metrics, pipeline, gatewayId } = newPipeline(db);
    try {
      const tenant = `drop-${randomBytes(3).toString("hex")}`;
      const poisoned = new Set([0, 41, 42, 499]);
      for (let i = 0; i < 500; i++) {
        pipeline.record(
          event({
            tenant,
            path: `/r${i}`,
            userAgent: poisoned.has(i) ? `poison ${i}` : "agent",
            count: i === 41 ? 7 : 1,
          }),
        );
      }
      await pipeline.flush();
      expect(pipeline.depth).toBe(0);
      // 496 rows written; the four poisoned ones (10 events: one stood for 7) dropped and counted.
      expect(await count(db, "tenant = $1", [tenant])).toBe(496);
      expect(pipeline.totals).toMatchObject({ written: 496, dropped: 10 });
      expect((await metrics.auditDropped.get()).values[0]!.value).toBe(10);
      const dropped = await query<{ decision: string | null; reason: string | null; count: number; details: object }>(
        db,
        "select decision, reason, count, details from audit_event where kind = 'dropped' and gateway_id = $1",
        [gatewayId],
      );
      // SPEC §6: a dropped row has no decision and no reason; the cause is in its details.
      expect(dropped).toEqual([
        {
          decision: null,
          reason: null,
          count: 10,
          details: expect.objectContaining({
            cause: "refused",
            error: expect.stringMatching(/^23514 .*test_no_poison/),
          }),
        },
      ]);
      expect(pipeline.health().status).toBe("dropping");
    } finally {
      await pipeline.stop();
      await pool.end();
    }
  });

  it("retries while Postgres is unavailable (here: the table is missing), never splitting or dropping", async () => {
    const { pool, metrics, pipeline } = newPipeline(db, { flushMs: 20, stallAfterMs: 60_000 });
    const admin = new pg.Client({ connectionString: db });
    await admin.connect();
    const tenant = `down-${randomBytes(3).toString("hex")}`;
    try {
      await admin.query("alter table audit_event rename to audit_event_away");
      for (let i = 0; i < 50; i++) pipeline.record(event({ tenant, path: `/r${i}` }));
      await eventually(() => pipeline.healthDetail().lastError, 10_000);
      expect(pipeline.depth).toBe(50);
      expect(pipeline.totals.dropped).toBe(0);
      // Writes are failing: stalled, whatever the age of the rows.
      expect(pipeline.health()).toMatchObject({ status: "stalled", queueDepth: 50 });
      expect(pipeline.healthDetail().lastError).toMatch(/^42P01 /);
    } finally {
      await admin.query("alter table audit_event_away rename to audit_event");
      await admin.end();
    }
    try {
      await eventually(async () => (await count(db, "tenant = $1", [tenant])) === 50, 15_000);
      expect(pipeline.totals).toMatchObject({ written: 50, dropped: 0, clipped: 0 });
      expect((await metrics.auditRowsRefused.get()).values).toEqual([]);
      expect(pipeline.health()).toEqual({ status: "ok", queueDepth: 0, oldestPendingMs: 0 });
    } finally {
      await pipeline.stop();
      await pool.end();
    }
  });

  it("against a running gateway: a refused handshake row cannot hold up the handshakes after it", async () => {
    const tenant = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
    const gw = await startGateway(db, { audit: { flushMs: 20 } });
    try {
      await acceptedHandshake(gw, tenant, { "User-Agent": "poison pill" });
      const later = await acceptedHandshake(gw, tenant);
      await eventually(async () => (await count(db, "tenant = $1 and path = $2", [tenant.slug, later])) === 2, 10_000);
      // The poisoned handshake and its close: two events, dropped and counted with the cause.
      const dropped = await eventually(async () => {
        const rows = await query<{ count: number; details: { cause: string } }>(
          db,
          "select count, details from audit_event where kind = 'dropped' and gateway_id = $1",
          [gw.gateway.id],
        );
        return rows.reduce((n, r) => n + r.count, 0) === 2 ? rows : null;
      }, 10_000);
      expect(dropped.every((r) => r.details.cause === "refused")).toBe(true);
      const health = await healthOf(gw);
      expect(health.audit.status).toBe("dropping");
      expect(health.status).toBe("degraded");
    } finally {
      await gw.stop();
    }
  });
});

describe("c. /healthz reports the audit pipeline", () => {
  let db: string;
  let tenant: TenantFixture;

  beforeAll(async () => {
    db = await createTestDatabase("audithealth");
    tenant = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
  });

  it("says ok with an empty queue, stalled while writes cannot complete, ok again once they do", async () => {
    const gw = await startGateway(db, { audit: { flushMs: 20, stallAfterMs: 300 } });
    const locker = new pg.Client({ connectionString: db });
    await locker.connect();
    try {
      expect(await healthOf(gw)).toMatchObject({
        status: "ok",
        policySource: "postgres",
        audit: { status: "ok", queueDepth: 0, oldestPendingMs: 0 },
      });
      await locker.query("begin");
      await locker.query("lock table audit_event in access exclusive mode");
      const path = await acceptedHandshake(gw, tenant);
      const stalled = await eventually(async () => {
        const h = await healthOf(gw);
        return h.audit.status === "stalled" ? h : null;
      }, 10_000);
      expect(stalled.status).toBe("degraded");
      expect(stalled.audit.queueDepth).toBeGreaterThanOrEqual(1);
      expect(stalled.audit.oldestPendingMs).toBeGreaterThan(300);
      await locker.query("commit");
      await eventually(async () => (await count(db, "tenant = $1 and path = $2", [tenant.slug, path])) === 2, 10_000);
      await eventually(async () => (await healthOf(gw)).audit.status === "ok", 10_000);
      expect((await healthOf(gw)).status).toBe("ok");
    } finally {
      await locker.query("rollback").catch(() => {});
      await locker.end();
      await gw.stop();
    }
  });

  it("says dropping once the bounded queue overflowed, and writes the dropped row without decision or reason", async () => {
    const gw = await startGateway(db, { audit: { flushMs: 20, queueMax: 5 } });
    const locker = new pg.Client({ connectionString: db });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table audit_event in access exclusive mode");
      for (let i = 0; i < 10; i++) await acceptedHandshake(gw, tenant);
      const health = await eventually(async () => {
        const h = await healthOf(gw);
        return h.audit.status === "dropping" ? h : null;
      }, 10_000);
      expect(health.status).toBe("degraded");
      expect(health.audit.queueDepth).toBe(5);
      // Every handshake and close recorded (most of them dropped) before Postgres answers again.
      await eventually(() => gw.gateway.ctx.audit.totals.recorded === 20, 10_000);
    } finally {
      await locker.query("commit").catch(() => {});
      await locker.end();
    }
    try {
      const rows = await eventually(async () => {
        const r = await query<{ decision: string | null; reason: string | null; count: number; details: object }>(
          db,
          "select decision, reason, count, details from audit_event where kind = 'dropped' and gateway_id = $1",
          [gw.gateway.id],
        );
        return r.length > 0 ? r : null;
      }, 10_000);
      const dropped = gw.gateway.ctx.audit.totals.dropped;
      expect(dropped).toBeGreaterThan(0);
      await eventually(async () => {
        const r = await query<{ n: number }>(
          db,
          "select sum(count)::int as n from audit_event where kind = 'dropped' and gateway_id = $1",
          [gw.gateway.id],
        );
        return r[0]!.n === dropped;
      }, 10_000);
      for (const row of rows) {
        expect(row).toEqual({
          decision: null,
          reason: null,
          count: expect.any(Number),
          details: expect.objectContaining({ cause: "queue_full" }),
        });
      }
      // Everything recorded is accounted for: written or dropped.
      await eventually(() => gw.gateway.ctx.audit.depth === 0, 10_000);
      const { recorded, written } = gw.gateway.ctx.audit.totals;
      expect(written + dropped).toBe(recorded);
    } finally {
      await gw.stop();
    }
  });
});
