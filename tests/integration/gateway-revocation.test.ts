/**
 * Open connections follow the policy (SPEC §4.5, issue 11 item 4). The review's attack:
 * after an origin was removed, the tenant deleted, or a token expired, an already-open
 * socket kept echoing. Each case here opens a real socket through a real gateway, changes
 * the policy in Postgres (or lets time pass), and waits for the gateway to close the socket
 * with 1008 and the reason code, with one `revoked` audit event; report-only closes
 * nothing and says what enforce would have done; lowering a limit closes nothing; in proxy
 * mode both sides get the close frame.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { signHandshakeToken } from "../../server/policy";
import { createTenant, query, updatePolicy } from "../helpers/fixtures";
import {
  closed,
  eventually,
  expectRefusal,
  handshake,
  nextMessage,
  startGateway,
  type TestGateway,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const A = "https://a.example.com";
const B = "https://b.example.com";

interface AuditRow {
  kind: string;
  decision: string;
  reason: string;
  origin: string | null;
  close_code: number | null;
  policy_version: number | null;
  details: Record<string, unknown> | null;
}

let db: string;
let gw: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase("revoke");
  gw = await startGateway(db);
});
afterAll(async () => {
  await gw?.stop();
});

async function open(slug: string, origin: string, options: { protocols?: string[]; path?: string } = {}) {
  await eventually(() => gw.gateway.ctx.store.get(slug), 10_000);
  const outcome = await handshake(`${gw.wsUrl}/t/${slug}${options.path ?? "/x"}`, {
    origin,
    protocols: options.protocols,
  });
  expect(outcome.status).toBe(101);
  const ws = outcome.ws!;
  await expectEcho(ws);
  return ws;
}

async function expectEcho(ws: WebSocket, text = `ping-${Math.random()}`): Promise<void> {
  const reply = nextMessage(ws);
  ws.send(text);
  expect((await reply).data.toString()).toBe(text);
}

/** Waits until the gateway enforces `version` for the tenant (its re-evaluation ran with it). */
async function enforced(slug: string, version: number): Promise<void> {
  await eventually(() => gw.gateway.ctx.store.get(slug)?.version === version, 10_000);
}

/** The tenant's audit rows once the gateway has no open connection of it left and flushed. */
async function auditRows(slug: string): Promise<AuditRow[]> {
  await eventually(() => gw.gateway.ctx.connections.openCount(slug) === 0, 10_000);
  await gw.gateway.ctx.audit.flush(true);
  return query<AuditRow>(
    db,
    "select kind, decision, reason, origin, close_code, policy_version, details from audit_event where tenant = $1 order by id",
    [slug],
  );
}

describe("an open connection is closed when the policy stops allowing it", () => {
  it("removing its origin closes it with 1008 policy_revoked; a connection still allowed keeps echoing", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A, B] } });
    const byA = await open(tenant.slug, A);
    const byB = await open(tenant.slug, B);
    const closing = closed(byA);
    const version = await updatePolicy(db, tenant.id, { origins: [B] });
    expect(await closing).toEqual({ code: 1008, reason: "policy_revoked" });
    await enforced(tenant.slug, version);
    await expectEcho(byB);
    byB.close();
    const rows = await auditRows(tenant.slug);
    const revoked = rows.filter((r) => r.kind === "revoked");
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({
      decision: "rejected",
      reason: "policy_revoked",
      origin: A,
      close_code: 1008,
      policy_version: version,
      details: { cause: "origin_not_allowed", admittedVersion: 1 },
    });
    // The revoked event is that connection's close record: no second `close` row for it.
    expect(rows.filter((r) => r.kind === "close").map((r) => r.origin)).toEqual([B]);
    expect((await gw.gateway.ctx.metrics.revocations.get()).values).toContainEqual(
      expect.objectContaining({ labels: { tenant: tenant.slug, reason: "policy_revoked" }, value: 1 }),
    );
  });

  it("deleting the tenant closes all its connections with 1008 policy_revoked", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A, B] } });
    const sockets = [await open(tenant.slug, A), await open(tenant.slug, B), await open(tenant.slug, A)];
    const closes = sockets.map((ws) => closed(ws));
    await query(db, "delete from tenant where id = $1", [tenant.id]);
    for (const c of await Promise.all(closes)) expect(c).toEqual({ code: 1008, reason: "policy_revoked" });
    const rows = await auditRows(tenant.slug);
    expect(rows.filter((r) => r.kind === "revoked")).toHaveLength(3);
    for (const r of rows.filter((r) => r.kind === "revoked")) {
      expect(r).toMatchObject({ reason: "policy_revoked", close_code: 1008, details: { cause: "tenant_deleted" } });
    }
    expect((await expectRefusal(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: A })).reason).toBe("tenant_unknown");
  });

  it("requiring a token closes the connections that came without one", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    const ws = await open(tenant.slug, A);
    const closing = closed(ws);
    await updatePolicy(db, tenant.id, { origins: [A], token: "required" });
    expect(await closing).toEqual({ code: 1008, reason: "policy_revoked" });
    const revoked = (await auditRows(tenant.slug)).find((r) => r.kind === "revoked");
    expect(revoked?.details).toMatchObject({ cause: "token_missing" });
  });

  it("an allowlist entry's expiry closes the connections it admitted", async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const tenant = await createTenant(db, { policy: { origins: [{ pattern: A, expiresAt }, B] } });
    const byA = await open(tenant.slug, A);
    const byB = await open(tenant.slug, B);
    expect(await closed(byA)).toEqual({ code: 1008, reason: "policy_revoked" });
    await expectEcho(byB);
    byB.close();
    const revoked = (await auditRows(tenant.slug)).filter((r) => r.kind === "revoked");
    expect(revoked).toMatchObject([{ origin: A, details: { cause: "origin_not_allowed" } }]);
  });
});

describe("token expiry", () => {
  it("closes a connection admitted with a token when the token expires (1008 token_expired)", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A], token: "required" } });
    // Accepted thanks to the verifier's 30 s clock-skew leeway; invalid 2 s from now.
    const exp = Math.floor(Date.now() / 1000) - 28;
    const jwt = signHandshakeToken({ aud: tenant.slug, exp }, tenant.tokenSecret);
    const ws = await open(tenant.slug, A, { protocols: ["chat", `bearer.${jwt}`] });
    expect(await closed(ws)).toEqual({ code: 1008, reason: "token_expired" });
    expect(Date.now()).toBeGreaterThanOrEqual((exp + 30) * 1000);
    const revoked = (await auditRows(tenant.slug)).filter((r) => r.kind === "revoked");
    expect(revoked).toMatchObject([{ decision: "rejected", reason: "token_expired", close_code: 1008 }]);
  });

  it("also for a token sent as the access_token parameter", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A], token: "required" } });
    const jwt = signHandshakeToken({ aud: tenant.slug, exp: Math.floor(Date.now() / 1000) - 29 }, tenant.tokenSecret);
    const ws = await open(tenant.slug, A, { path: `/x?access_token=${jwt}` });
    expect(await closed(ws)).toEqual({ code: 1008, reason: "token_expired" });
  });
});

describe("report-only, mode switches and limits", () => {
  it("report-only closes nothing and records what enforce would have done; switching to enforce closes", async () => {
    const tenant = await createTenant(db, { policy: { mode: "report-only", origins: [A] } });
    const ws = await open(tenant.slug, A);
    const v2 = await updatePolicy(db, tenant.id, { mode: "report-only", origins: [B] });
    await enforced(tenant.slug, v2);
    await gw.gateway.ctx.audit.flush(true);
    const [report] = await eventually(async () => {
      const rows = await query<AuditRow>(
        db,
        "select kind, decision, reason, origin, close_code, policy_version, details from audit_event where tenant = $1 and kind = 'revoked'",
        [tenant.slug],
      );
      return rows.length > 0 ? rows : null;
    });
    expect(report).toMatchObject({
      decision: "report_only",
      reason: "policy_revoked",
      close_code: null,
      policy_version: v2,
      details: { cause: "origin_not_allowed", wouldClose: true },
    });
    await expectEcho(ws); // still open

    const closing = closed(ws);
    await updatePolicy(db, tenant.id, { mode: "enforce", origins: [B] });
    expect(await closing).toEqual({ code: 1008, reason: "policy_revoked" });
    const revoked = (await auditRows(tenant.slug)).filter((r) => r.kind === "revoked");
    expect(revoked.map((r) => r.decision)).toEqual(["report_only", "rejected"]);
  });

  it("report-only does not report again what the handshake event already said", async () => {
    const tenant = await createTenant(db, { policy: { mode: "report-only", origins: [B] } });
    const ws = await open(tenant.slug, A); // admitted although enforce would refuse it
    const version = await updatePolicy(db, tenant.id, { mode: "report-only", origins: [B, "https://c.example.com"] });
    await enforced(tenant.slug, version);
    await expectEcho(ws);
    ws.close();
    const rows = await auditRows(tenant.slug);
    expect(rows.map((r) => [r.kind, r.decision, r.reason])).toEqual([
      ["handshake", "report_only", "origin_not_allowed"],
      ["close", "report_only", "allowed"],
    ]);
  });

  it("lowering limits closes nothing", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    const sockets = [await open(tenant.slug, A), await open(tenant.slug, A)];
    const version = await updatePolicy(db, tenant.id, {
      origins: [A],
      limits: { maxConnections: 1, maxMessageBytes: 1024, idleTimeoutSeconds: 30, handshakesPerMinutePerIp: 1 },
    });
    await enforced(tenant.slug, version);
    for (const ws of sockets) await expectEcho(ws);
    expect(gw.gateway.ctx.connections.openCount(tenant.slug)).toBe(2);
    for (const ws of sockets) ws.close();
    expect((await auditRows(tenant.slug)).filter((r) => r.kind === "revoked")).toEqual([]);
  });
});

describe("proxy mode", () => {
  let upstream: WebSocketServer;
  let upstreamUrl: string;
  /** Upstream handshakes wait here until the test lets them through. */
  let held: Array<() => void> = [];
  let holding = false;
  const serverSides: WebSocket[] = [];

  beforeAll(async () => {
    upstream = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      verifyClient: (_info, done) => {
        if (holding) held.push(() => done(true));
        else done(true);
      },
    });
    upstream.on("connection", (ws) => {
      serverSides.push(ws);
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    await new Promise((r) => upstream.once("listening", r));
    upstreamUrl = `ws://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => upstream.close(r));
  });

  it("closes both sides with a close frame: the client and the upstream see 1008 policy_revoked", async () => {
    const tenant = await createTenant(db, { upstreamUrl, policy: { origins: [A] } });
    const before = serverSides.length;
    const ws = await open(tenant.slug, A);
    const upstreamSide = serverSides[before]!;
    const upstreamClosed = closed(upstreamSide);
    const clientClosed = closed(ws);
    await updatePolicy(db, tenant.id, { origins: [B] });
    expect(await clientClosed).toEqual({ code: 1008, reason: "policy_revoked" });
    expect(await upstreamClosed).toEqual({ code: 1008, reason: "policy_revoked" });
  });

  it("a connection decided under a policy replaced during its upstream connect is judged again at once", async () => {
    const tenant = await createTenant(db, { upstreamUrl, policy: { origins: [A] } });
    // The gateway knows the new tenant first (else a loaded machine answers 404 unknown tenant).
    await enforced(tenant.slug, 1);
    holding = true;
    const ws = new WebSocket(`${gw.wsUrl}/t/${tenant.slug}/x`, { headers: { Origin: A } });
    const failed = new Promise<never>((_, reject) => ws.once("error", reject));
    const opened = Promise.race([new Promise((resolve) => ws.once("open", resolve)), failed]);
    const closing = new Promise((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: `${reason}` })),
    );
    // The gateway has decided (allowed) and waits for the upstream.
    await eventually(() => held.length === 1, 30_000);
    const version = await updatePolicy(db, tenant.id, { origins: [B] });
    await enforced(tenant.slug, version);
    holding = false;
    for (const release of held) release();
    held = [];
    await opened;
    expect(await closing).toEqual({ code: 1008, reason: "policy_revoked" });
  });
});
