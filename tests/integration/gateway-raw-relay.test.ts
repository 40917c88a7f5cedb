/**
 * The raw relay of proxy mode (issue 19, frame-relay.ts): frames pass as bytes with their
 * headers read on the way. Raw TCP clients write exactly the frames a case needs —
 * fragmented messages, control frames between fragments, a header split across TCP reads
 * (written one byte at a time), a message over the limit across continuation frames —
 * against a real `ws` upstream that records what it receives. Also: what the upstream's
 * handshake carries (no extension, no token), an upstream that answers with an
 * extension it was not offered, the size limit toward the client, and a policy close
 * while a client frame is half through (inserted at the frame boundary, both sides), and an
 * upstream whose TCP connection ends without a close frame (1011 to the client, or a cut
 * when it ended half through a frame).
 */
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { signHandshakeToken } from "../../server/policy";
import { createTenant, type TenantFixture, updatePolicy } from "../helpers/fixtures";
import { closed, eventually, handshake, startGateway, type TestGateway, upgradeRequest } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";
const LIMIT = 64 * 1024;

interface UpstreamSide {
  ws: WebSocket;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  messages: Array<{ data: Buffer; isBinary: boolean }>;
  pings: Buffer[];
}

let db: string;
let gw: TestGateway;
let upstream: WebSocketServer;
let upstreamPort: number;
let tenant: TenantFixture;
const sides: UpstreamSide[] = [];

beforeAll(async () => {
  upstream = new WebSocketServer({ port: 0, host: "127.0.0.1", maxPayload: 64 * 1024 * 1024 });
  await new Promise((r) => upstream.once("listening", r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  upstream.on("connection", (ws, req) => {
    const side: UpstreamSide = { ws, headers: req.headers, url: req.url ?? "", messages: [], pings: [] };
    sides.push(side);
    ws.on("ping", (data) => side.pings.push(data));
    ws.on("message", (data: Buffer, isBinary) => {
      side.messages.push({ data, isBinary });
      const text = isBinary ? "" : data.toString();
      if (text.startsWith("big:")) ws.send(Buffer.alloc(Number(text.slice(4)), 1));
      else if (text.startsWith("burst:")) {
        // burst:<count>:<size> — messages filled with their own index, as fast as ws takes them.
        const [, count, size] = text.split(":").map(Number);
        for (let i = 0; i < count!; i++) ws.send(Buffer.alloc(size!, i % 251));
      } else ws.send(data, { binary: isBinary });
    });
  });
  db = await createTestDatabase("rawrelay");
  tenant = await createTenant(db, {
    upstreamUrl: `ws://127.0.0.1:${upstreamPort}/base`,
    policy: { origins: [ORIGIN], limits: { maxMessageBytes: LIMIT } },
  });
  gw = await startGateway(db);
});

afterAll(async () => {
  await gw?.stop();
  for (const c of upstream?.clients ?? []) c.terminate();
  await new Promise((r) => upstream?.close(r));
});

/** A client frame (masked with a random key). */
function frame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const len = data.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = data[i]! ^ mask[i & 3]!;
  return out;
}

interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A raw client: the handshake, then the server's frames parsed as they come. */
class RawClient {
  frames: ServerFrame[] = [];
  ended = false;
  status = 0;
  headers = "";
  private buffer = Buffer.alloc(0);
  private upgraded = false;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => {
      this.ended = true;
    });
  }

  static async open(extraHeaders: Record<string, string> = {}, rest = "/raw"): Promise<RawClient> {
    const before = sides.length;
    const socket = net.connect(gw.port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((r) => socket.once("connect", r));
    const client = new RawClient(socket);
    socket.write(upgradeRequest(`/t/${tenant.slug}${rest}`, { Origin: ORIGIN, ...extraHeaders }));
    await eventually(() => client.status !== 0);
    if (client.status === 101) await eventually(() => sides.length > before);
    return client;
  }

  get side(): UpstreamSide {
    return sides.at(-1)!;
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      this.headers = this.buffer.toString("latin1", 0, end);
      this.status = Number(this.headers.slice(9, 12));
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      const b1 = this.buffer[1]!;
      expect(b1 & 0x80).toBe(0); // server frames are never masked
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        head = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        head = 10;
      }
      if (this.buffer.length < head + len) return;
      this.frames.push({
        fin: (this.buffer[0]! & 0x80) !== 0,
        opcode: this.buffer[0]! & 0x0f,
        payload: Buffer.from(this.buffer.subarray(head, head + len)),
      });
      this.buffer = this.buffer.subarray(head + len);
    }
  }

  /** Waits for a frame of `opcode` and returns it. */
  async next(opcode: number): Promise<ServerFrame> {
    let found: ServerFrame | undefined;
    await eventually(() => {
      found = this.frames.find((f) => f.opcode === opcode);
      return found !== undefined;
    });
    this.frames.splice(this.frames.indexOf(found!), 1);
    return found!;
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }
}

function closeCode(f: ServerFrame): { code: number; reason: string } {
  return { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
}

describe("frames through the raw relay", () => {
  it("a fragmented message with control frames between its fragments arrives whole, pings answered end to end", async () => {
    const client = await RawClient.open();
    await client.write(
      Buffer.concat([
        frame(0x1, "hel", false),
        frame(0x9, "are you there"),
        frame(0x0, "lo ", false),
        frame(0xa, "unsolicited"),
        frame(0x0, "world", true),
      ]),
    );
    await eventually(() => client.side.messages.length === 1);
    expect(client.side.messages[0]!.data.toString()).toBe("hello world");
    expect(client.side.messages[0]!.isBinary).toBe(false);
    // The client's ping went to the upstream, whose pong came back through the gateway.
    expect(client.side.pings.map(String)).toEqual(["are you there"]);
    expect((await client.next(0xa)).payload.toString()).toBe("are you there");
    expect((await client.next(0x1)).payload.toString()).toBe("hello world");
    client.socket.destroy();
  });

  it("a frame header split across TCP reads (written one byte at a time) is held back until complete", async () => {
    const client = await RawClient.open();
    const payload = Buffer.alloc(300, 0x5a);
    payload[299] = 0x01;
    const bytes = frame(0x2, payload);
    // Header (2 + 2 + 4 bytes) and the first payload bytes, one write each, then the rest.
    for (let i = 0; i < 12; i++) {
      await client.write(bytes.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
    await client.write(bytes.subarray(12));
    const echo = await client.next(0x2);
    expect(Buffer.compare(echo.payload, payload)).toBe(0);
    expect(client.side.messages.map((m) => m.data.length)).toEqual([300]);
    client.socket.destroy();
  });

  it("bytes stay intact when the client reads late (writes toward it queue while the upstream keeps sending)", async () => {
    const outcome = await handshake(`${gw.wsUrl}/t/${tenant.slug}/burst`, { origin: ORIGIN });
    expect(outcome.status).toBe(101);
    const ws = outcome.ws!;
    const received: Buffer[] = [];
    ws.on("message", (data: Buffer) => received.push(data));
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    socket.pause();
    const side = sides.at(-1)!;
    ws.send("burst:10000:1000");
    // The gateway's writes toward the paused client queue up until the upstream is held back too.
    await eventually(() => side.ws.bufferedAmount > 0, 10_000);
    socket.resume();
    await eventually(() => received.length === 10000, 15_000);
    received.forEach((m, i) => {
      expect(m.length).toBe(1000);
      expect(m.every((b) => b === i % 251)).toBe(true);
    });
    ws.close();
  }, 30_000);

  it("a message over maxMessageBytes across continuation frames: 1009 to the client, 1011 to the upstream, never forwarded", async () => {
    const client = await RawClient.open();
    const upstreamClosed = closed(client.side.ws);
    const half = Buffer.alloc(LIMIT / 2 + 1, 2);
    await client.write(Buffer.concat([frame(0x2, half, false), frame(0x0, half, true)]));
    expect(closeCode(await client.next(0x8))).toEqual({ code: 1009, reason: "" });
    expect(await upstreamClosed).toEqual({ code: 1011, reason: "peer error" });
    await eventually(() => client.ended);
    expect(client.side.messages).toEqual([]);
  });

  it("a message over maxMessageBytes from the upstream: 1009 to the upstream, 1011 to the client", async () => {
    const client = await RawClient.open();
    const upstreamClosed = closed(client.side.ws);
    await client.write(frame(0x1, `big:${LIMIT + 1}`));
    expect(closeCode(await client.next(0x8))).toEqual({ code: 1011, reason: "peer error" });
    expect((await upstreamClosed).code).toBe(1009);
    expect(client.frames.filter((f) => f.opcode === 0x2)).toEqual([]);
  });

  it("an unmasked client frame is a protocol error (1002), the upstream gets 1011", async () => {
    const client = await RawClient.open();
    const upstreamClosed = closed(client.side.ws);
    await client.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    expect(closeCode(await client.next(0x8)).code).toBe(1002);
    expect((await upstreamClosed).code).toBe(1011);
  });
});

describe("an upstream that drops its TCP connection without a close frame", () => {
  const upstreamSocket = (side: UpstreamSide) => (side.ws as unknown as { _socket: net.Socket })._socket;

  it("at a frame boundary: the client gets 1011; its answer completes the close and the gateway ends the connection", async () => {
    const client = await RawClient.open();
    await client.write(frame(0x1, "hello"));
    expect((await client.next(0x1)).payload.toString()).toBe("hello");
    upstreamSocket(client.side).destroy();
    expect(closeCode(await client.next(0x8)).code).toBe(1011);
    const answer = Buffer.alloc(2);
    answer.writeUInt16BE(1011);
    await client.write(frame(0x8, answer));
    await eventually(() => client.ended);
  });

  it("half through a frame: the client is cut, never sent a close frame after the partial bytes", async () => {
    const client = await RawClient.open();
    // A binary frame header announcing 100 bytes, then 10 of them, then the TCP connection ends.
    const partial = Buffer.concat([Buffer.from([0x82, 100]), Buffer.alloc(10, 7)]);
    await new Promise<void>((resolve) => upstreamSocket(client.side).write(partial, () => resolve()));
    upstreamSocket(client.side).destroy();
    await eventually(() => client.ended);
    expect(client.frames.filter((f) => f.opcode === 0x8)).toEqual([]);
  });
});

describe("the upstream's handshake", () => {
  it("carries no extension, no Authorization, no access_token and no bearer.* entry", async () => {
    const jwt = signHandshakeToken({ aud: tenant.slug, exp: Math.floor(Date.now() / 1000) + 60 }, tenant.tokenSecret);
    const viaProtocol = await RawClient.open({
      "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
      "Sec-WebSocket-Protocol": `chat, bearer.${jwt}`,
    });
    expect(viaProtocol.status).toBe(101);
    expect(viaProtocol.headers.toLowerCase()).not.toContain("sec-websocket-extensions");
    // ws (the upstream) picks the first offered entry; the client is answered with it.
    expect(viaProtocol.headers.toLowerCase()).toContain("sec-websocket-protocol: chat");
    const first = viaProtocol.side;
    const viaQuery = await RawClient.open(
      { "Sec-WebSocket-Extensions": "permessage-deflate" },
      `/raw?access_token=${jwt}&keep=1`,
    );
    expect(viaQuery.status).toBe(101);
    const second = viaQuery.side;
    expect([first.url, second.url]).toEqual(["/base/raw", "/base/raw?keep=1"]);
    expect(first.headers["sec-websocket-protocol"]).toBe("chat");
    for (const seen of [first, second]) {
      expect(seen.headers["sec-websocket-extensions"]).toBeUndefined();
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.headers.origin).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(jwt.split(".")[2]!);
    }
    viaProtocol.socket.destroy();
    viaQuery.socket.destroy();
  });

  it("an upstream that answers with an extension it was not offered is unavailable (503)", async () => {
    // A raw upstream: a correct 101 plus `Sec-WebSocket-Extensions: permessage-deflate`.
    const rogue = net.createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        const key = /sec-websocket-key: *(\S+)/i.exec(chunk.toString("latin1"))?.[1] ?? "";
        const accept = acceptOf(key);
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
        );
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => rogue.listen(0, "127.0.0.1", r));
    const rogueTenant = await createTenant(db, {
      upstreamUrl: `ws://127.0.0.1:${(rogue.address() as AddressInfo).port}/`,
      policy: { origins: [ORIGIN] },
    });
    await eventually(() => gw.gateway.ctx.store.get(rogueTenant.slug));
    const outcome = await handshake(`${gw.wsUrl}/t/${rogueTenant.slug}/x`, { origin: ORIGIN });
    expect([outcome.status, outcome.reason]).toEqual([503, "upstream_unavailable"]);
    await new Promise((r) => rogue.close(r));
  });
});

describe("heartbeat in proxy mode", () => {
  it("the gateway pings the client: one that answers stays, one that never does is cut and the upstream gets 1011", async () => {
    const idle = await createTenant(db, {
      upstreamUrl: `ws://127.0.0.1:${upstreamPort}/base`,
      policy: { origins: [ORIGIN], limits: { idleTimeoutSeconds: 1 } },
    });
    await eventually(() => gw.gateway.ctx.store.get(idle.slug));
    const alive = await handshake(`${gw.wsUrl}/t/${idle.slug}/x`, { origin: ORIGIN });
    expect(alive.status).toBe(101);
    let pings = 0;
    alive.ws!.on("ping", () => {
      pings += 1;
    });
    // A raw client that completes its handshake, reads, and never answers anything.
    const before = sides.length;
    const socket = net.connect(gw.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const dead = new RawClient(socket);
    socket.write(upgradeRequest(`/t/${idle.slug}/x`, { Origin: ORIGIN }));
    await eventually(() => dead.status === 101 && sides.length > before);
    const deadSide = sides[before]!;
    const upstreamClosed = closed(deadSide.ws);
    await eventually(() => dead.ended, 10_000);
    expect(dead.frames.some((f) => f.opcode === 0x9)).toBe(true); // it was pinged first
    expect((await upstreamClosed).code).toBe(1011);
    expect(pings).toBeGreaterThan(0);
    expect(alive.ws!.readyState).toBe(WebSocket.OPEN);
    alive.ws!.close();
  }, 15_000);
});

describe("policy closes (SPEC §4.5) through the raw relay", () => {
  it("are inserted at a frame boundary: a client frame half through is completed first, then 1008 both sides", async () => {
    const own = await createTenant(db, {
      upstreamUrl: `ws://127.0.0.1:${upstreamPort}/base`,
      policy: { origins: [ORIGIN], limits: { maxMessageBytes: LIMIT } },
    });
    await eventually(() => gw.gateway.ctx.store.get(own.slug));
    const before = sides.length;
    const socket = net.connect(gw.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const client = new RawClient(socket);
    socket.write(upgradeRequest(`/t/${own.slug}/x`, { Origin: ORIGIN }));
    await eventually(() => client.status === 101 && sides.length > before);
    const side = sides.at(-1)!;
    const upstreamClosed = closed(side.ws);
    const payload = Buffer.alloc(1000, 3);
    const bytes = frame(0x2, payload);
    await client.write(bytes.subarray(0, 500));
    const version = await updatePolicy(db, own.id, { origins: ["https://other.example.com"] });
    await eventually(() => gw.gateway.ctx.store.get(own.slug)?.version === version);
    // The client's stream was at a boundary: its close comes at once.
    expect(closeCode(await client.next(0x8))).toEqual({ code: 1008, reason: "policy_revoked" });
    // The upstream's close waits for the end of the frame in progress.
    await client.write(bytes.subarray(500));
    expect(await upstreamClosed).toEqual({ code: 1008, reason: "policy_revoked" });
    expect(side.messages.map((m) => m.data.length)).toEqual([1000]);
    socket.destroy();
  });
});

/** RFC 6455 §4.2.2, computed here independently of the gateway's code. */
function acceptOf(key: string): string {
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}
