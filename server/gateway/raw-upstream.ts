/**
 * The upstream handshake of proxy mode over one raw TCP (or TLS) connection (issue 19):
 * the gateway writes the upgrade request itself and reads the upstream's 101, instead of
 * running a `ws` client per connection. What the upstream receives is what the old `ws`
 * client sent: the request line with the confined path and filtered query
 * (upstream-path.ts), Host, the WebSocket headers, the subprotocols the policy lets
 * through (never `bearer.*`), X-Forwarded-For and X-OriginGate-Tenant — no Origin, no
 * Cookie, no Authorization, and no Sec-WebSocket-Extensions: the gateway negotiates no
 * extension, so the relay's frames are plain (with permessage-deflate a size limit on the
 * compressed bytes would let a small frame inflate into a huge message).
 *
 * The client's own Sec-WebSocket-Key is sent: the upstream's Sec-WebSocket-Accept must then
 * be exactly the one the gateway answers the client with, computed once.
 *
 * The 101 is checked as `ws` checks it (lib/websocket.js, initAsClient): status 101,
 * `Upgrade: websocket`, the expected accept value, a subprotocol only if one was offered
 * and then one of those offered (and one when some were offered), and no extension.
 * Anything else — another status, a timeout (UPSTREAM_TIMEOUT_MS), a head larger than
 * MAX_HEAD_BYTES, a connection error — rejects, and the handshake answers 503.
 *
 * TLS (`wss://`): certificates are verified (Node's defaults, as `ws` did), with SNI, and
 * sessions are resumed per host:port (RFC 5077 tickets / TLS 1.3 PSK), so a busy tenant
 * pays for a full TLS handshake once rather than per connection.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import tls from "node:tls";

const UPSTREAM_TIMEOUT_MS = 5000;
const MAX_HEAD_BYTES = 16 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** TLS sessions kept for resumption (one per upstream host:port, oldest dropped first). */
const MAX_TLS_SESSIONS = 256;

export interface RawUpstream {
  socket: net.Socket;
  /**
   * Subscribes the relay to the upstream's bytes. `onChunk` returns true when the chunk's
   * bytes are still referenced after it returns (writes queued toward the client).
   */
  read(onChunk: (chunk: Buffer) => boolean): void;
  /** The subprotocol the upstream chose ("" for none). */
  protocol: string;
  /** Bytes the upstream sent right after its 101 (already frames). */
  head: Buffer;
  terminate(): void;
}

export interface RawUpstreamOptions {
  /** The client's Sec-WebSocket-Key (validated by the handshake). */
  key: string;
  forwardedFor: string;
  tenant: string;
  /** Extra TLS options (tests: a private CA). */
  tls?: tls.ConnectionOptions;
}

/** Sec-WebSocket-Accept for `key` (RFC 6455 §4.2.2). */
export function acceptValue(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

const sessions = new Map<string, Buffer>();

function rememberSession(origin: string, session: Buffer): void {
  sessions.delete(origin);
  if (sessions.size >= MAX_TLS_SESSIONS) {
    const oldest = sessions.keys().next().value;
    if (oldest !== undefined) sessions.delete(oldest);
  }
  sessions.set(origin, session);
}

/** A header value is sent on its own line: CR, LF and NUL never are. */
function headerSafe(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  return value.replace(/[\u0000\r\n]/g, "");
}

/**
 * Connects to `target` (a ws:// or wss:// URL, already confined by upstream-path.ts) and
 * completes its WebSocket handshake; resolves with the upgraded socket.
 */
export function connectUpstreamRaw(
  target: string,
  protocols: string[],
  options: RawUpstreamOptions,
): Promise<RawUpstream> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      reject(new Error("invalid upstream URL"));
      return;
    }
    const secure = url.protocol === "wss:" || url.protocol === "https:";
    if (!secure && url.protocol !== "ws:" && url.protocol !== "http:") {
      reject(new Error(`unsupported upstream scheme ${url.protocol}`));
      return;
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || (secure ? 443 : 80));
    const origin = `${host}:${port}`;
    let socket: net.Socket;
    let reads: ReusedReads | null = null;
    if (secure) {
      const tlsSocket = tls.connect({
        host,
        port,
        servername: net.isIP(host) ? undefined : host,
        session: sessions.get(origin),
        ALPNProtocols: ["http/1.1"],
        ...options.tls,
      });
      tlsSocket.on("session", (session: Buffer) => rememberSession(origin, session));
      socket = tlsSocket;
    } else {
      const r = new ReusedReads();
      reads = r;
      socket = net.connect({
        host,
        port,
        onread: { buffer: () => r.buffer, callback: (n: number, buffer: Uint8Array) => r.deliver(n, buffer) },
      });
    }
    socket.setNoDelay(true);
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${options.key}`,
      "Sec-WebSocket-Version: 13",
    ];
    if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(",")}`);
    lines.push(`X-Forwarded-For: ${headerSafe(options.forwardedFor)}`);
    lines.push(`X-OriginGate-Tenant: ${headerSafe(options.tenant)}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`, "latin1");

    let received: Buffer = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => fail(new Error("upstream handshake timed out")), UPSTREAM_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      if (reads) reads.sink = null;
      else socket.off("data", onData);
      socket.off("error", fail);
      socket.off("close", onClose);
    };
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(error);
    }
    const onClose = () => fail(new Error("upstream closed the connection during the handshake"));
    const onData = (chunk: Buffer) => {
      // A copy: with reused reads, `chunk` is overwritten by the next read.
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end === -1) {
        if (received.length > MAX_HEAD_BYTES) fail(new Error("upstream response head too large"));
        return;
      }
      const problem = checkResponse(received.toString("latin1", 0, end), options.key, protocols);
      if (typeof problem === "string") {
        fail(new Error(problem));
        return;
      }
      settled = true;
      cleanup();
      socket.pause();
      // Until the relay takes over: an error must not crash the process.
      socket.on("error", () => socket.destroy());
      resolve({
        socket,
        read: reads
          ? (onChunk) => {
              reads.sink = onChunk;
            }
          : (onChunk) => socket.on("data", onChunk),
        protocol: problem.protocol,
        head: received.subarray(end + 4),
        terminate: () => socket.destroy(),
      });
    };
    if (reads) {
      reads.sink = (chunk) => {
        onData(chunk);
        return false;
      };
    } else {
      socket.on("data", onData);
    }
    socket.on("error", fail);
    socket.on("close", onClose);
  });
}

/**
 * Reads of a plain-TCP upstream into one reused buffer (net's `onread`): no buffer
 * allocated and no stream event per read on the relay's busiest direction. A read's bytes
 * are handed on synchronously; when some of them are still referenced afterwards (a
 * write toward the client queued instead of done at once), the next read goes to a new
 * buffer, so queued bytes are never overwritten.
 */
class ReusedReads {
  buffer: Buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  sink: ((chunk: Buffer) => boolean) | null = null;

  /** Always true: reading is paused and resumed with the socket's pause() and resume(). */
  deliver(n: number, buffer: Uint8Array): true {
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, n);
    if (this.sink?.(chunk)) this.buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    return true;
  }
}

/** What is wrong with the upstream's answer (a message), or the subprotocol it chose. */
function checkResponse(head: string, key: string, offered: string[]): string | { protocol: string } {
  const lines = head.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!status) return "upstream sent no HTTP response";
  if (status[1] !== "101") return `upstream answered ${status[1]}`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return "upstream sent a malformed header";
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") return "invalid Upgrade header";
  if (headers.get("sec-websocket-accept") !== acceptValue(key)) return "invalid Sec-WebSocket-Accept header";
  const protocol = headers.get("sec-websocket-protocol");
  if (protocol !== undefined) {
    if (offered.length === 0) return "server sent a subprotocol but none was requested";
    if (!offered.includes(protocol)) return "server sent an invalid subprotocol";
  } else if (offered.length > 0) {
    return "server sent no subprotocol";
  }
  if (headers.has("sec-websocket-extensions")) return "server sent an extension that was not offered";
  return { protocol: protocol ?? "" };
}
