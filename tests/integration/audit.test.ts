/**
 * The audit pipeline and the live stream, end to end through real gateways, sockets and
 * Postgres: exact counts, folding of a flood, buffering while Postgres is blocked with
 * dropped events counted and recorded, a resumable stream with no gap and no duplicate,
 * events from a second gateway, a slow stream client told what it missed, and the stream's
 * own handshake checks.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createMetrics } from "../../server/admin/metrics";
import type { StreamHub } from "../../server/admin/stream";
import { AUDIT_CHANNEL, AuditPipeline } from "../../server/audit/pipeline";
import { AuditTail } from "../../server/audit/tail";
import type { AuditEventInput } from "../../server/audit/types";
import { type AuditEvent, auditAfter, searchAudit } from "../../server/db/audit-queries";
import type { PgListener } from "../../server/db/pg-listener";
import { createPool } from "../../server/db/pool";
import { getOrCreateSecretSetting, SETTING_ADMIN_TOKEN_KEY } from "../../server/db/settings";
import { createLogger } from "../../server/log";
import { POLICY_CHANNEL } from "../../server/policy-store/policy-store";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { apiTokenPrincipal, streamToken } from "../helpers/admin-stream";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { eventually, expectRefusal, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";
const DASHBOARD = "http://localhost:3000";

let db: string;
let gw: TestGateway;
let gw2: TestGateway;
let tenant: TenantFixture;
let adminKey: string;

beforeAll(async () => {
  db = await createTestDatabase("audit");
  tenant = await createTenant(db, {
    policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
  });
  gw = await startGateway(db, { dashboardUrl: DASHBOARD });
  gw2 = await startGateway(db, { dashboardUrl: DASHBOARD });
  const pool = createPool(db);
  adminKey = await getOrCreateSecretSetting(pool, SETTING_ADMIN_TOKEN_KEY, configuredSecretBox());
  await pool.end();
});

afterAll(async () => {
  await gw?.stop();
  await gw2?.stop();
});

async function sumCounts(where: string, values: unknown[]): Promise<number> {
  const rows = await query<{ n: number }>(
    db,
    `select coalesce(sum(count), 0)::int as n from audit_event where ${where}`,
    values,
  );
  return rows[0]!.n;
}

/** Runs `total` handshakes with bounded concurrency; returns how many were refused. */
async function flood(url: string, origin: string, total: number, concurrency = 32): Promise<number> {
  let started = 0;
  let refused = 0;
  const worker = async () => {
    while (started < total) {
      started += 1;
      const o = await handshake(url, { origin });
      if (o.ws) o.ws.terminate();
      else refused += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return refused;
}

function streamUrl(g: TestGateway, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params).toString();
  return `${g.wsUrl}/admin/stream${q ? `?${q}` : ""}`;
}

interface StreamClient {
  ws: WebSocket;
  events: AuditEvent[];
  messages: Array<{ type: string; [k: string]: unknown }>;
}

async function openStream(g: TestGateway, params: Record<string, string> = {}): Promise<StreamClient> {
  const token = streamToken(adminKey, await apiTokenPrincipal(db));
  const ws = new WebSocket(streamUrl(g, params), ["og-admin.v1", `bearer.${token}`], {
    headers: { Origin: DASHBOARD },
  });
  const client: StreamClient = { ws, events: [], messages: [] };
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { type: string; event?: AuditEvent };
    client.messages.push(m);
    if (m.type === "event" && m.event) client.events.push(m.event);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  await eventually(() => client.messages.some((m) => m.type === "live"), 10_000);
  return client;
}

describe("audit pipeline", () => {
  it("N handshakes give events whose counts add up to exactly N", async () => {
    const t = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
    await eventually(() => gw.gateway.ctx.store.get(t.slug));
    const url = `${gw.wsUrl}/t/${t.slug}/n`;
    const allowed = 150;
    const refusedOrigins = ["https://evil.example.net", "https://other.example.net"];
    expect(await flood(url, ORIGIN, allowed, 16)).toBe(0);
    for (const o of refusedOrigins) expect(await flood(url, o, 100, 16)).toBe(100);
    await eventually(async () => (await sumCounts("tenant = $1 and kind = 'handshake'", [t.slug])) === 350, 10_000);
    expect(await sumCounts("tenant = $1 and kind = 'handshake' and decision = 'accepted'", [t.slug])).toBe(allowed);
    expect(await sumCounts("tenant = $1 and kind = 'handshake' and decision = 'rejected'", [t.slug])).toBe(200);
    // Accepted connections each get their close recorded too (code and duration).
    await eventually(async () => (await sumCounts("tenant = $1 and kind = 'close'", [t.slug])) === allowed, 10_000);
    const closeRow = await query<{ close_code: number; duration_ms: number }>(
      db,
      "select close_code, duration_ms from audit_event where tenant = $1 and kind = 'close' limit 1",
      [t.slug],
    );
    expect(closeRow[0]!.close_code).toBe(1006);
    expect(closeRow[0]!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("folds a flood of 20,000 identical rejections into few rows whose counts add up to exactly 20,000", async () => {
    const url = `${gw.wsUrl}/t/${tenant.slug}/flood`;
    const total = 20_000;
    expect(await flood(url, "https://attacker.example.net", total, 64)).toBe(total);
    const where = "tenant = $1 and origin = 'https://attacker.example.net'";
    await eventually(async () => (await sumCounts(where, [tenant.slug])) === total, 20_000);
    const rows = await query<{ n: number }>(db, `select count(*)::int as n from audit_event where ${where}`, [
      tenant.slug,
    ]);
    expect(rows[0]!.n).toBeLessThan(total / 100);
  }, 120_000);

  it("stores every column as recorded, whatever characters the client sent", async () => {
    const pool = createPool(db, { max: 2 });
    const pipeline = new AuditPipeline({
      pool,
      gatewayId: "gw-copy\ttest",
      logger: createLogger({ name: "t", level: "silent" }),
      metrics: createMetrics(),
      flushMs: 10,
    });
    const ts = Date.parse("2026-11-22T01:02:03.456Z");
    const tricky: AuditEventInput = {
      ts,
      kind: "close",
      tenant: "copy-test",
      decision: "report_only",
      reason: "origin_not_allowed",
      origin: "https://tab\there.example\\N",
      originNormalized: null,
      remoteAddr: "::ffff:10.0.0.9",
      userAgent: "line\nbreak\rreturn \\ backslash \\N null-lookalike \u0000 nul ü 🚀",
      path: "/p\\.",
      subprotocol: "\\.",
      policyVersion: 7,
      matchedPattern: "https://*.example.com",
      closeCode: 4000,
      durationMs: 30 * 24 * 3600 * 1000, // 30 days: beyond a Postgres integer, clamped
      details: { note: 'quote " and backslash \\ and tab \t' },
    };
    pipeline.record(tricky);
    pipeline.record({ ...tricky, kind: "handshake", userAgent: null, path: null, details: null, durationMs: null });
    await pipeline.stop(10_000);
    await pool.end();
    const rows = await query<Record<string, unknown>>(
      db,
      `select gateway_id, ts, last_ts, kind::text, decision::text, reason, origin, origin_normalized, remote_addr,
              user_agent, path, subprotocol, policy_version, matched_pattern, count, close_code, duration_ms, details
         from audit_event where tenant = 'copy-test' order by id`,
    );
    expect(rows).toEqual([
      {
        gateway_id: "gw-copy\ttest",
        ts: new Date(ts),
        last_ts: null,
        kind: "close",
        decision: "report_only",
        reason: "origin_not_allowed",
        origin: tricky.origin,
        origin_normalized: null,
        remote_addr: "::ffff:10.0.0.9",
        // Postgres text cannot hold NUL: it is stored as U+FFFD, everything else as sent.
        user_agent: tricky.userAgent!.replace("\u0000", "\uFFFD"),
        path: "/p\\.",
        subprotocol: "\\.",
        policy_version: 7,
        matched_pattern: "https://*.example.com",
        count: 1,
        close_code: 4000,
        duration_ms: 2_147_483_647,
        details: tricky.details,
      },
      expect.objectContaining({ kind: "handshake", user_agent: null, path: null, details: null, duration_ms: null }),
    ]);
  });

  it("buffers while Postgres blocks writes, counts and records what it had to drop", async () => {
    const metrics = createMetrics();
    const pool = createPool(db, { max: 2, applicationName: "audit-buffer-test" });
    const pipeline = new AuditPipeline({
      pool,
      gatewayId: "gw-buffer-test",
      logger: createLogger({ name: "t", level: "silent" }),
      metrics,
      queueMax: 1000,
      flushMs: 20,
    });
    const event = (i: number): AuditEventInput => ({
      ts: Date.now(),
      kind: "handshake",
      tenant: "buffer-test",
      decision: "accepted",
      reason: "allowed",
      origin: `https://c${i}.example.com`,
      originNormalized: `https://c${i}.example.com`,
      remoteAddr: "10.0.0.1",
      userAgent: null,
      path: "/x",
      subprotocol: null,
      policyVersion: 1,
      matchedPattern: null,
    });
    const locker = new pg.Client({ connectionString: db });
    await locker.connect();
    await locker.query("begin");
    await locker.query("lock table audit_event in access exclusive mode");
    try {
      for (let i = 0; i < 500; i++) pipeline.record(event(i));
      // Postgres reports the first batch's COPY waiting for the lock (asked from another
      // connection: inside the locker's transaction pg_stat_activity would stay as first read).
      await eventually(
        async () =>
          (
            await query(
              db,
              `select 1 from pg_stat_activity
                where datname = current_database() and application_name = 'audit-buffer-test' and wait_event_type = 'Lock'`,
            )
          ).length === 1,
      );
      for (let i = 500; i < 2000; i++) pipeline.record(event(i));
      // 500 in flight (still queued until committed) + up to 1000 queued; the rest dropped.
      expect(pipeline.totals.dropped).toBe(1000);
      expect(await metrics.auditDropped.get()).toMatchObject({ values: [{ value: 1000 }] });
    } finally {
      await locker.query("commit");
      await locker.end();
    }
    await pipeline.stop(10_000);
    await pool.end();
    expect(await sumCounts("tenant = 'buffer-test' and kind = 'handshake'", [])).toBe(1000);
    expect(await sumCounts("gateway_id = 'gw-buffer-test' and kind = 'dropped'", [])).toBe(1000);
  });
});

describe("live stream", () => {
  it("refuses foreign origins and missing or bad tokens before the upgrade", async () => {
    const principal = await apiTokenPrincipal(db);
    const token = streamToken(adminKey, principal);
    const wrongScope = streamToken(adminKey, principal, { scope: "tester" });
    const forged = streamToken("not-the-key", principal, { role: "admin" });
    const cases: Array<[string | null, string[], number, string]> = [
      ["https://evil.example.net", ["og-admin.v1", `bearer.${token}`], 403, "origin_not_allowed"],
      [DASHBOARD, ["og-admin.v1"], 401, "token_missing"],
      [DASHBOARD, ["og-admin.v1", `bearer.${forged}`], 401, "token_invalid"],
      [DASHBOARD, ["og-admin.v1", `bearer.${wrongScope}`], 401, "token_invalid"],
    ];
    for (const [origin, protocols, status, reason] of cases) {
      const o = await expectRefusal(streamUrl(gw), { origin, protocols });
      expect([o.status, o.reason]).toEqual([status, reason]);
    }
  });

  it("streams new events, filtered on the server, including events written by another gateway", async () => {
    const other = await createTenant(db, { policy: { origins: [ORIGIN] } });
    await eventually(() => gw2.gateway.ctx.store.get(other.slug));
    const client = await openStream(gw, { tenant: other.slug, decision: "rejected" });
    // Made on the second gateway; the stream is connected to the first.
    await flood(`${gw2.wsUrl}/t/${other.slug}/x`, "https://intruder.example.net", 3, 1);
    await flood(`${gw2.wsUrl}/t/${other.slug}/x`, ORIGIN, 2, 1);
    await eventually(() => client.events.reduce((n, e) => n + e.count, 0) === 3, 10_000);
    expect(client.events.every((e) => e.tenant === other.slug && e.decision === "rejected")).toBe(true);
    expect(client.events[0]!.gatewayId).toBe(gw2.gateway.id);
    client.ws.close();
  });

  it("reads nothing back and LISTENs to no audit wake-up while no stream is open; a new stream starts at the newest event", async () => {
    const t = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
    await eventually(() => gw.gateway.ctx.store.get(t.slug));
    const tail = (gw.gateway as unknown as { tail: AuditTail }).tail;
    await eventually(() => (gw.gateway as unknown as { stream: { size: number } }).stream.size === 0);
    let emitted = 0;
    const count = () => {
      emitted += 1;
    };
    // The channels the gateway's shared LISTEN connection listens to (asked on that connection).
    const listener = (tail as unknown as { listener: PgListener }).listener;
    const channels = async () =>
      (await listener.query<{ c: string }>("select pg_listening_channels() as c")).rows.map((r) => r.c).sort();
    tail.on("event", count);
    try {
      // Without a watcher, every gateway's every audit batch would wake this one for nothing,
      // and no timer of the live feed wakes it either.
      const timers = () => {
        const hub = (gw.gateway as unknown as { stream: { lagTimer: unknown; recheckTimer: unknown } }).stream;
        const poller = (tail as unknown as { poller: unknown }).poller;
        return [hub.lagTimer, hub.recheckTimer, poller].map((t) => t !== null);
      };
      expect(timers()).toEqual([false, false, false]);
      expect(await channels()).not.toContain(AUDIT_CHANNEL);
      expect(await channels()).toContain(POLICY_CHANNEL);
      const idleAt = tail.lastId;
      await flood(`${gw.wsUrl}/t/${t.slug}/idle`, ORIGIN, 10, 2);
      // 10 handshakes + 10 closes committed (and announced) while nobody watches.
      await eventually(async () => (await sumCounts("tenant = $1", [t.slug])) === 20, 10_000);
      await tail.wake();
      expect(emitted).toBe(0);
      expect(tail.lastId).toBe(idleAt);

      const client = await openStream(gw, { tenant: t.slug });
      expect(await channels()).toContain(AUDIT_CHANNEL);
      expect(timers()).toEqual([true, true, true]);
      const [latest] = await query<{ id: string }>(db, "select max(id)::text as id from audit_event");
      const newest = latest!.id;
      expect(client.messages[0]).toEqual({ type: "hello", cursor: newest });
      expect(client.events).toEqual([]);
      await flood(`${gw.wsUrl}/t/${t.slug}/live`, ORIGIN, 3, 1);
      await eventually(() => client.events.length === 6, 10_000);
      expect(client.events.every((e) => BigInt(e.id) > BigInt(newest) && e.path === "/live")).toBe(true);
      client.ws.close();
      // The last stream gone, the wake-ups stop; the policy's stay.
      await eventually(async () => !(await channels()).includes(AUDIT_CHANNEL), 10_000);
      expect(await channels()).toContain(POLICY_CHANNEL);
      expect(timers()).toEqual([false, false, false]);
    } finally {
      tail.off("event", count);
    }
  });

  it("a tail that cannot reach Postgres says its position is unknown and reads nothing", async () => {
    const pool = new pg.Pool({
      connectionString: "postgres://postgres@127.0.0.1:1/none",
      connectionTimeoutMillis: 500,
    });
    const tail = new AuditTail(
      pool,
      "postgres://postgres@127.0.0.1:1/none",
      "gw-down",
      createLogger({ name: "t", level: "silent" }),
    );
    try {
      expect(await tail.acquire()).toBe(false);
      await tail.wake(); // must not throw, must not read
      expect(tail.lastId).toBe("0");
    } finally {
      tail.release();
      await pool.end();
    }
  });

  it("resumes after a disconnect with no gap and no duplicate", async () => {
    const t = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
    await eventually(() => gw.gateway.ctx.store.get(t.slug));
    const url = `${gw.wsUrl}/t/${t.slug}/r`;
    const first = await openStream(gw, { tenant: t.slug });
    await flood(url, ORIGIN, 20, 4);
    await eventually(() => first.events.filter((e) => e.kind === "handshake").length === 20, 10_000);
    const lastSeen = first.events.at(-1)!.id;
    first.ws.close();
    // Traffic while disconnected, on both gateways.
    await flood(url, ORIGIN, 15, 4);
    await flood(`${gw2.wsUrl}/t/${t.slug}/r`, ORIGIN, 15, 4);
    const second = await openStream(gw, { tenant: t.slug, after: lastSeen });
    await flood(url, ORIGIN, 10, 4);
    await eventually(async () => {
      const expected = await query<{ id: string }>(
        db,
        "select id::text as id from audit_event where tenant = $1 order by audit_event.id",
        [t.slug],
      );
      const seen = [...first.events, ...second.events].map((e) => e.id);
      return expected.length >= 120 && seen.length === expected.length ? { expected, seen } : null;
    }, 15_000).then(({ expected, seen }) => {
      expect(seen).toEqual(expected.map((r) => r.id));
    });
    second.ws.close();
  });

  it("tells a slow client how many events it missed, then resyncs it without a gap", async () => {
    const t = await createTenant(db, {
      policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 1_000_000 } },
    });
    await eventually(() => gw.gateway.ctx.store.get(t.slug));
    const client = await openStream(gw, { tenant: t.slug });
    // Stop reading: the gateway's send buffer toward this client fills up.
    (client.ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
    const pool = createPool(db);
    // Large events (long user agents) written straight into the table and announced once.
    await pool.query(
      `insert into audit_event (gateway_id, kind, tenant, decision, reason, origin, user_agent, count)
       select 'gw-bulk', 'handshake', $1, 'rejected', 'origin_not_allowed', 'https://bulk.example.net', repeat('x', 2000), 1
         from generate_series(1, 6000)`,
      [t.slug],
    );
    await pool.query("select pg_notify('audit_events', 'gw-bulk')");
    // The gateway stopped sending to this client and counts what it misses.
    const hub = (gw.gateway as unknown as { stream: StreamHub }).stream;
    await eventually(() => hub.lagging === 1, 20_000);
    (client.ws as unknown as { _socket: import("node:net").Socket })._socket.resume();
    await eventually(() => client.events.length === 6000, 20_000);
    const lagged = client.messages.filter((m) => m.type === "lagged");
    expect(lagged.length).toBeGreaterThan(0);
    expect(Number(lagged[0]!.missed)).toBeGreaterThan(0);
    const ids = client.events.map((e) => BigInt(e.id));
    expect(new Set(ids.map(String)).size).toBe(6000);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    await pool.end();
    client.ws.close();
  }, 60_000);
});

describe("ordering by id across digit boundaries", () => {
  it("pages and tails in numeric id order when ids grow from 2 to 3 digits", async () => {
    const fresh = await createTestDatabase("auditord");
    const pool = createPool(fresh);
    try {
      await pool.query("select setval(pg_get_serial_sequence('audit_event', 'id'), 95)");
      await pool.query(
        `insert into audit_event (gateway_id, kind, tenant, decision, reason, count)
         select 'gw', 'handshake', 'order-t', 'accepted', 'allowed', 1 from generate_series(1, 10)`,
      );
      const pages: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await searchAudit(pool, { tenant: "order-t", limit: 3, cursor });
        pages.push(...page.events.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(pages).toEqual(["105", "104", "103", "102", "101", "100", "99", "98", "97", "96"]);
      const tail = await auditAfter(pool, "98", 100);
      expect(tail.map((e) => e.id)).toEqual(["99", "100", "101", "102", "103", "104", "105"]);
    } finally {
      await pool.end();
    }
  });
});
