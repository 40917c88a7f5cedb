/**
 * Allowed connections: proxying to a real upstream `ws` server (text, binary, large
 * messages, close codes both ways, query kept without access_token, backpressure with a
 * slow reader) and the limits enforced on open connections (message size, idle timeout).
 */
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { RawPeer } from "../../server/gateway/frame-relay";
import { createTenant, type TenantFixture } from "../helpers/fixtures";
import {
  closed,
  eventually,
  handshake,
  nextMessage,
  startGateway,
  type TestGateway,
  upgradeRequest,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

let db: string;
let gw: TestGateway;
let upstream: WebSocketServer;
let upstreamPort: number;
let proxied: TenantFixture;
let echo: TenantFixture;
let idle: TenantFixture;
const upstreamSockets: Array<{ ws: WebSocket; url: string; protocol: string; headers: Record<string, unknown> }> = [];
const ORIGIN = "https://app.example.com";

beforeAll(async () => {
  upstream = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has("chat.v1") ? "chat.v1" : false),
  });
  await new Promise((r) => upstream.once("listening", r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  upstream.on("connection", (ws, req) => {
    upstreamSockets.push({ ws, url: req.url ?? "", protocol: ws.protocol, headers: req.headers });
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString();
      if (text.startsWith("close:")) {
        const [, code, reason] = text.split(":");
        ws.close(Number(code), reason);
      } else {
        ws.send(data, { binary: isBinary });
      }
    });
  });
  db = await createTestDatabase("gwrelay");
  proxied = await createTenant(db, {
    upstreamUrl: `ws://127.0.0.1:${upstreamPort}/base`,
    policy: { origins: [ORIGIN], limits: { maxMessageBytes: 16 * 1024 * 1024 } },
  });
  echo = await createTenant(db, { policy: { origins: [ORIGIN], limits: { maxMessageBytes: 1024 } } });
  idle = await createTenant(db, { policy: { origins: [ORIGIN], limits: { idleTimeoutSeconds: 1 } } });
  gw = await startGateway(db);
});

afterAll(async () => {
  await gw?.stop();
  await new Promise((r) => upstream?.close(r));
});

async function openProxied(rest = "/room/1", protocols: string[] = []): Promise<WebSocket> {
  const before = upstreamSockets.length;
  const outcome = await handshake(`${gw.wsUrl}/t/${proxied.slug}${rest}`, { origin: ORIGIN, protocols });
  expect(outcome.status).toBe(101);
  await eventually(() => upstreamSockets.length > before);
  return outcome.ws!;
}

describe("proxy to an upstream ws server", () => {
  it("connects upstream to <upstream>/<rest>, keeps the query, drops access_token, forwards subprotocols", async () => {
    const client = await openProxied("/room/7?user=ann&access_token=secret-value&x=1", ["chat.v1"]);
    const up = upstreamSockets.at(-1)!;
    expect(up.url).toBe("/base/room/7?user=ann&x=1");
    expect(up.protocol).toBe("chat.v1");
    expect(client.protocol).toBe("chat.v1");
    expect(up.headers["x-forwarded-for"]).toBe("127.0.0.1");
    client.close();
  });

  it("relays text and binary frames both ways, including a 5 MB message", async () => {
    const client = await openProxied();
    client.send("hello");
    const text = await nextMessage(client);
    expect([text.data.toString(), text.isBinary]).toEqual(["hello", false]);
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    client.send(bytes);
    const bin = await nextMessage(client);
    expect(bin.isBinary).toBe(true);
    expect(Buffer.compare(bin.data, bytes)).toBe(0);
    const large = Buffer.alloc(5 * 1024 * 1024, 7);
    large[large.length - 1] = 9;
    client.send(large);
    const back = await nextMessage(client, 15_000);
    expect(back.data.length).toBe(large.length);
    expect(back.data[back.data.length - 1]).toBe(9);
    client.close();
  });

  it("propagates the upstream's close code and reason to the client", async () => {
    const client = await openProxied();
    const done = closed(client);
    client.send("close:4001:upstream says bye");
    expect(await done).toEqual({ code: 4001, reason: "upstream says bye" });
  });

  it("propagates the client's close code and reason to the upstream", async () => {
    const client = await openProxied();
    const up = upstreamSockets.at(-1)!;
    const done = closed(up.ws);
    client.close(4002, "client leaves");
    expect(await done).toEqual({ code: 4002, reason: "client leaves" });
  });

  it("answers 503 upstream_unavailable before any upgrade when the upstream refuses", async () => {
    const refusing = await createTenant(db, {
      upstreamUrl: `ws://127.0.0.1:${upstreamPort}/base`,
      policy: { origins: [ORIGIN], subprotocols: ["chat.v2"] },
    });
    // The upstream accepts only chat.v1: it answers chat.v2 with no protocol, which ws treats as a failure.
    await eventually(() => gw.gateway.ctx.store.get(refusing.slug));
    const outcome = await handshake(`${gw.wsUrl}/t/${refusing.slug}/x`, { origin: ORIGIN, protocols: ["chat.v2"] });
    expect([outcome.status, outcome.reason]).toEqual([503, "upstream_unavailable"]);
  });

  it("holds memory flat when the client reads slower than the upstream writes (backpressure)", async () => {
    // A raw client that completes the handshake and then never reads.
    const socket = net.connect(gw.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write(upgradeRequest(`/t/${proxied.slug}/flood`, { Origin: ORIGIN }));
    const connection = await eventually(() =>
      gw.gateway.ctx.connections.openOf(proxied.slug).find((c) => c.accepted.path?.endsWith("/flood")),
    );
    socket.pause();
    const relay = (connection.client as RawPeer).relay;
    const up = await eventually(() => upstreamSockets.find((s) => s.url.endsWith("/flood"))?.ws);
    const chunk = Buffer.alloc(64 * 1024, 1);
    const queued = 8 * 1024 * 1024;
    let held = 0;
    let lastQueue = -1;
    // Keep 8 MiB queued on the upstream's side until the gateway reports that it stopped
    // reading the upstream (its relay waits for the client's socket to drain) and the
    // upstream's queue did not move between two looks. Meanwhile, the most the gateway held
    // toward the client.
    await eventually(() => {
      held = Math.max(held, relay.toClient.buffered);
      const stalled = relay.toClient.paused && up.bufferedAmount === lastQueue;
      while (up.bufferedAmount < queued) {
        up.send(chunk, { binary: true });
      }
      lastQueue = up.bufferedAmount;
      return stalled;
    }, 30_000);
    held = Math.max(held, relay.toClient.buffered);
    // What the gateway holds is about one read (64 KiB) beyond the socket's high-water mark,
    // however much the upstream has to send: the rest waits in the upstream and the kernel.
    expect(relay.toClient.paused).toBe(true);
    expect(held).toBeLessThan(1024 * 1024);
    expect(up.bufferedAmount).toBeGreaterThanOrEqual(queued);
    socket.destroy();
  });
});

describe("limits on open connections", () => {
  it("closes with 1009 when a message exceeds maxMessageBytes", async () => {
    const outcome = await handshake(`${gw.wsUrl}/t/${echo.slug}/x`, { origin: ORIGIN });
    const done = closed(outcome.ws!);
    outcome.ws!.send(Buffer.alloc(2048));
    expect((await done).code).toBe(1009);
  });

  it("echoes messages within the limit", async () => {
    const outcome = await handshake(`${gw.wsUrl}/t/${echo.slug}/x`, { origin: ORIGIN });
    outcome.ws!.send("small");
    expect((await nextMessage(outcome.ws!)).data.toString()).toBe("small");
    outcome.ws!.close();
  });

  it("keeps a peer that answers pings and terminates one that does not", async () => {
    const alive = await handshake(`${gw.wsUrl}/t/${idle.slug}/x`, { origin: ORIGIN });
    let pings = 0;
    alive.ws!.on("ping", () => {
      pings += 1;
    });
    // A raw socket: it completes the handshake and then never answers anything.
    const dead = net.connect(gw.port, "127.0.0.1");
    await new Promise((r) => dead.once("connect", r));
    dead.write(upgradeRequest(`/t/${idle.slug}/x`, { Origin: ORIGIN }));
    // Read and discard (it still never answers a ping), so the close is seen.
    dead.resume();
    const deadClosed = new Promise<void>((r) => dead.once("close", () => r()));
    await deadClosed;
    expect(pings).toBeGreaterThan(0);
    expect(alive.ws!.readyState).toBe(WebSocket.OPEN);
    alive.ws!.close();
  }, 15_000);
});
