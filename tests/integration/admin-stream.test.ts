/**
 * The admin stream's credentials against real gateways and Postgres (SPEC issue "Hardening"
 * item 11): a stream token is single use across the fleet, the session or API token behind
 * it is checked at the handshake and again while the stream is open, and one user or API
 * token holds at most `maxPerPrincipal` streams, so it cannot take every slot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { createPool } from "../../server/db/pool";
import { getOrCreateSecretSetting, SETTING_ADMIN_TOKEN_KEY } from "../../server/db/settings";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import {
  anotherSession,
  apiTokenPrincipal,
  connectStream,
  endSession,
  revokeToken,
  type StreamPrincipal,
  sessionPrincipal,
  streamToken,
} from "../helpers/admin-stream";
import { createTenant, query } from "../helpers/fixtures";
import { eventually, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const DASHBOARD = "http://localhost:3000";
const ORIGIN = "https://app.example.com";
let db: string;
let gw: TestGateway;
let gw2: TestGateway;
let key: string;

beforeAll(async () => {
  db = await createTestDatabase("admin_stream");
  gw = await startGateway(db, { dashboardUrl: DASHBOARD, adminStream: { recheckMs: 200 } });
  gw2 = await startGateway(db, { dashboardUrl: DASHBOARD, adminStream: { recheckMs: 200 } });
  const pool = createPool(db);
  key = await getOrCreateSecretSetting(pool, SETTING_ADMIN_TOKEN_KEY, configuredSecretBox());
  await pool.end();
});

afterAll(async () => {
  await gw?.stop();
  await gw2?.stop();
});

const streamUrl = (g: TestGateway, query = "") => `${g.wsUrl}/admin/stream${query}`;

async function refusal(promise: Promise<WebSocket>): Promise<{ status: number; reason: string }> {
  try {
    const ws = await promise;
    ws.close();
  } catch (error) {
    const e = error as { status?: number; reason?: string };
    if (e.status !== undefined) return { status: e.status, reason: e.reason ?? "" };
    throw error;
  }
  throw new Error("the stream was opened; a refusal was expected");
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Messages of one stream, as they arrive. */
function record(ws: WebSocket): Array<{ type: string; event?: { tenant: string } }> {
  const messages: Array<{ type: string; event?: { tenant: string } }> = [];
  ws.on("message", (data) => messages.push(JSON.parse(data.toString())));
  return messages;
}

describe("single use", () => {
  it("a token opens one stream; a replay is refused on the same gateway and on another", async () => {
    const principal = await apiTokenPrincipal(db);
    const token = streamToken(key, principal);
    const first = await connectStream(streamUrl(gw), token, DASHBOARD);
    expect(await refusal(connectStream(streamUrl(gw), token, DASHBOARD))).toEqual({
      status: 401,
      reason: "token_invalid",
    });
    expect(await refusal(connectStream(streamUrl(gw2), token, DASHBOARD))).toEqual({
      status: 401,
      reason: "token_invalid",
    });
    // A fresh token for the same principal works, on either gateway.
    const second = await connectStream(streamUrl(gw2), streamToken(key, principal), DASHBOARD);
    const uses = await query<{ n: number }>(db, "select count(*)::int as n from admin_token_use");
    expect(uses[0]!.n).toBeGreaterThanOrEqual(2);
    first.close();
    second.close();
  });

  it("two gateways racing for one token: exactly one stream opens", async () => {
    const token = streamToken(key, await apiTokenPrincipal(db));
    const attempts = await Promise.allSettled([
      connectStream(streamUrl(gw), token, DASHBOARD),
      connectStream(streamUrl(gw2), token, DASHBOARD),
      connectStream(streamUrl(gw), token, DASHBOARD),
    ]);
    const opened = attempts.filter((a): a is PromiseFulfilledResult<WebSocket> => a.status === "fulfilled");
    expect(opened).toHaveLength(1);
    for (const a of opened) a.value.close();
  });
});

describe("the principal behind the token", () => {
  it("an API token revoked while its stream is open: the stream closes (1008)", async () => {
    const tenant = await createTenant(db, { policy: { origins: [ORIGIN] } });
    await eventually(() => gw.gateway.ctx.store.get(tenant.slug));
    const principal = await apiTokenPrincipal(db);
    const ws = await connectStream(streamUrl(gw, `?tenant=${tenant.slug}`), streamToken(key, principal), DASHBOARD);
    const messages = record(ws);
    await eventually(() => messages.some((m) => m.type === "live"));
    const before = await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: ORIGIN });
    before.ws?.close();
    await eventually(() => messages.some((m) => m.type === "event"), 10_000);

    const closing = closed(ws);
    await revokeToken(db, principal);
    expect(await closing).toEqual({ code: 1008, reason: "credentials revoked" });
  });

  it("an API token that expires while its stream is open: the stream closes (1008)", async () => {
    const principal = await apiTokenPrincipal(db);
    const ws = await connectStream(streamUrl(gw), streamToken(key, principal), DASHBOARD);
    const closing = closed(ws);
    await query(db, "update api_token set expires_at = now() - interval '1 second' where id = $1", [principal.sub]);
    expect(await closing).toEqual({ code: 1008, reason: "credentials revoked" });
  });

  it("a stream token scoped to one tenant streams that tenant only; asking for another is refused", async () => {
    const principal = await apiTokenPrincipal(db);
    expect(
      await refusal(
        connectStream(
          streamUrl(gw, "?tenant=someone-else"),
          streamToken(key, principal, { tenant: "mine" }),
          DASHBOARD,
        ),
      ),
    ).toEqual({ status: 403, reason: "token_invalid" });
  });

  it("a signed-out session: its open stream closes, and a token minted before the sign-out is refused", async () => {
    const principal: StreamPrincipal = await sessionPrincipal(db);
    const ws = await connectStream(streamUrl(gw2), streamToken(key, principal), DASHBOARD);
    const unused = streamToken(key, principal);
    const closing = closed(ws);
    await endSession(db, principal);
    expect((await closing).code).toBe(1008);
    expect(await refusal(connectStream(streamUrl(gw), unused, DASHBOARD))).toEqual({
      status: 401,
      reason: "token_invalid",
    });
  });

  it("a token that names no session or API token is refused", async () => {
    const principal = await sessionPrincipal(db);
    const anonymousUser = streamToken(key, { kind: "user", sub: principal.sub, sid: "", name: "x" });
    expect(await refusal(connectStream(streamUrl(gw), anonymousUser, DASHBOARD))).toEqual({
      status: 401,
      reason: "token_invalid",
    });
    const otherUsersSession = streamToken(key, {
      ...principal,
      sub: "someone-else",
    } as StreamPrincipal);
    expect(await refusal(connectStream(streamUrl(gw), otherUsersSession, DASHBOARD))).toEqual({
      status: 401,
      reason: "token_invalid",
    });
  });
});

describe("streams per user or API token", () => {
  it("one viewer cannot hold every slot: its sixth stream is refused, another user's is not", async () => {
    const greedy = await sessionPrincipal(db);
    const open: WebSocket[] = [];
    for (let i = 0; i < 5; i++) open.push(await connectStream(streamUrl(gw), streamToken(key, greedy), DASHBOARD));
    expect(await refusal(connectStream(streamUrl(gw), streamToken(key, greedy), DASHBOARD))).toEqual({
      status: 503,
      reason: "connection_limit",
    });
    // Another session of the same user counts toward the same user.
    const sameUser = await anotherSession(db, greedy);
    expect((await refusal(connectStream(streamUrl(gw), streamToken(key, sameUser), DASHBOARD))).status).toBe(503);

    const admin = await apiTokenPrincipal(db);
    const adminStream = await connectStream(streamUrl(gw), streamToken(key, admin), DASHBOARD);
    // A closed stream gives its slot back.
    const closing = closed(open[0]!);
    open[0]!.close();
    await closing;
    open[0] = await eventually(() =>
      connectStream(streamUrl(gw), streamToken(key, greedy), DASHBOARD).catch(() => null),
    );
    for (const ws of [...open, adminStream]) ws.close();
  });

  it("the cap is configurable", async () => {
    const small = await startGateway(db, { dashboardUrl: DASHBOARD, adminStream: { maxPerPrincipal: 1 } });
    try {
      const principal = await apiTokenPrincipal(db);
      const ws = await connectStream(streamUrl(small), streamToken(key, principal), DASHBOARD);
      expect((await refusal(connectStream(streamUrl(small), streamToken(key, principal), DASHBOARD))).status).toBe(503);
      ws.close();
    } finally {
      await small.stop();
    }
  });
});
