/**
 * Load generator of bench:proxy's relay phases, one process of several: holds open
 * WebSocket connections to one proxy and runs echo round trips over them (one message in
 * flight per connection: send, read the whole echo, send again).
 *
 * Raw TCP with prebuilt frames on purpose (as handshake-client.ts): the client shares the
 * cores with the proxies, so it must cost little per message. Frames are masked with the
 * all-zero key (valid: RFC 6455 only asks the key to be unpredictable, which no server can
 * check), so the payload bytes are sent as they are; the echo is counted, not parsed: its
 * size is known (header + payload, unmasked, server to client).
 *
 * Requests: {type: "open", port, path, origin, connections} → {opened};
 * {type: "run", size, durationMs} → {messages, bytes} (round trips completed in the window,
 * payload bytes they moved through the proxy, both ways); {type: "close"}.
 */
import net from "node:net";
import { serveRequests } from "./kit";

interface Conn {
  socket: net.Socket;
  /** Bytes of the current echo still expected. */
  awaiting: number;
}

let conns: Conn[] = [];

function upgradeRequest(port: number, pathname: string, origin: string): Buffer {
  return Buffer.from(
    `GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n` +
      "User-Agent: origingate-bench/1\r\n\r\n",
    "latin1",
  );
}

/** A binary frame of `size` payload bytes, client to server (masked, zero key). */
function clientFrame(size: number): Buffer {
  const header =
    size < 126
      ? Buffer.from([0x82, 0x80 | size])
      : size < 65536
        ? Buffer.from([0x82, 0x80 | 126, size >> 8, size & 0xff])
        : (() => {
            const h = Buffer.alloc(10);
            h[0] = 0x82;
            h[1] = 0x80 | 127;
            h.writeBigUInt64BE(BigInt(size), 2);
            return h;
          })();
  return Buffer.concat([header, Buffer.alloc(4), Buffer.alloc(size, 0x61)]);
}

/** Bytes of the same message from server to client (unmasked). */
function serverFrameSize(size: number): number {
  return (size < 126 ? 2 : size < 65536 ? 4 : 10) + size;
}

function open1(port: number, pathname: string, origin: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      if (!head.startsWith("HTTP/1.1 101")) {
        socket.destroy();
        reject(new Error(`handshake answered ${head.slice(0, 12)}`));
        return;
      }
      if (head.length > end + 4) reject(new Error("bytes after the 101"));
      resolve({ socket, awaiting: 0 });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.on("connect", () => socket.write(upgradeRequest(port, pathname, origin)));
  });
}

async function run(size: number, durationMs: number) {
  const frame = clientFrame(size);
  const echo = serverFrameSize(size);
  let messages = 0;
  let failed: Error | null = null;
  const deadline = performance.now() + durationMs;
  await Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve) => {
          const onData = (chunk: Buffer) => {
            c.awaiting -= chunk.length;
            if (c.awaiting > 0) return;
            if (c.awaiting < 0) failed = new Error("more bytes than the echo (a ping or close frame?)");
            if (performance.now() >= deadline || failed) {
              c.socket.off("data", onData);
              resolve();
              return;
            }
            messages++;
            c.awaiting = echo;
            c.socket.write(frame);
          };
          c.socket.on("data", onData);
          c.socket.once("close", () => {
            failed = new Error("connection closed during the run");
            resolve();
          });
          c.awaiting = echo;
          c.socket.write(frame);
        }),
    ),
  );
  if (failed) throw failed;
  for (const c of conns) c.socket.removeAllListeners("close");
  return { messages, bytes: messages * size * 2 };
}

serveRequests({
  open: async (m) => {
    conns = await Promise.all(
      Array.from({ length: Number(m.connections) }, () => open1(Number(m.port), String(m.path), String(m.origin))),
    );
    return { opened: conns.length };
  },
  run: (m) => run(Number(m.size), Number(m.durationMs)),
  close: () => {
    for (const c of conns) c.socket.destroy();
    conns = [];
    return {};
  },
});
process.send?.({ type: "ready" });
