/**
 * What an accepted connection does: relay to the tenant's upstream, or echo (demo target).
 *
 * Backpressure: every frame sent to a peer is counted until ws reports it written to the
 * socket; when more than HIGH_WATER bytes are pending toward one side, the other side is
 * paused (ws stops reading from its socket, so TCP flow control pushes back to the sender)
 * and resumed below LOW_WATER. Memory per connection therefore stays bounded whatever the
 * speed difference between the two peers.
 *
 * Close codes and reasons are propagated both ways; codes that may not be sent on the wire
 * (1005, 1006, 1015) become 1000 / 1011.
 */
import { WebSocket } from "ws";
import { type Connection, connectionOf, GatewaySocket } from "./connections";

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const UPSTREAM_TIMEOUT_MS = 5000;

export interface UpstreamOptions {
  maxPayload: number;
  forwardedFor: string;
  tenant: string;
}

/**
 * Opens the upstream connection to `target` (already confined under the upstream's base
 * path by upstream-path.ts); resolves when it is open, rejects on any failure.
 */
export function connectUpstream(target: string, protocols: string[], options: UpstreamOptions): Promise<GatewaySocket> {
  return new Promise((resolve, reject) => {
    let upstream: GatewaySocket;
    try {
      upstream = new GatewaySocket(target, protocols, {
        handshakeTimeout: UPSTREAM_TIMEOUT_MS,
        perMessageDeflate: false,
        maxPayload: options.maxPayload,
        followRedirects: false,
        headers: { "X-Forwarded-For": options.forwardedFor, "X-OriginGate-Tenant": options.tenant },
      });
    } catch (error) {
      reject(error as Error);
      return;
    }
    const fail = (error: Error) => {
      upstream.removeAllListeners("open");
      upstream.terminate();
      reject(error);
    };
    upstream.once("open", () => {
      upstream.off("error", fail);
      upstream.off("unexpected-response", unexpected);
      resolve(upstream);
    });
    const unexpected = (_req: unknown, res: { statusCode?: number }) =>
      fail(new Error(`upstream answered ${res.statusCode}`));
    upstream.once("error", fail);
    upstream.once("unexpected-response", unexpected);
  });
}

/** A close code that may be sent in a close frame. */
function sendableCode(code: number): number {
  if (code === 1005) return 1000;
  if (code === 1006 || code === 1015) return 1011;
  return code;
}

/**
 * Starts moving frames for an accepted connection: client ⇄ upstream, or client → client
 * (echo). Listeners are module-level and find the connection through `this`
 * (see connections.ts, "Memory").
 */
export function relay(connection: Connection): void {
  const { client, upstream } = connection;
  client.on("message", onClientMessage);
  client.on("error", onClientError);
  if (!upstream) return;
  upstream.on("message", onUpstreamMessage);
  upstream.on("error", onUpstreamError);
  client.once("close", onClientCloseRelay);
  upstream.once("close", onUpstreamClose);
}

type Frame = Buffer | ArrayBuffer | Buffer[];

function onClientMessage(this: WebSocket, data: Frame, isBinary: boolean): void {
  const c = connectionOf(this);
  if (!c) return;
  c.lastSeenAt = Date.now();
  forward(c, c.client, c.upstream ?? c.client, data, isBinary);
}

function onUpstreamMessage(this: WebSocket, data: Frame, isBinary: boolean): void {
  const c = connectionOf(this);
  if (c?.upstream) forward(c, c.upstream, c.client, data, isBinary);
}

/** Sends one frame from `from` to `to`, pausing `from` while `to` is not draining. */
function forward(c: Connection, from: GatewaySocket, to: GatewaySocket, data: Frame, isBinary: boolean): void {
  if (to.readyState !== WebSocket.OPEN) return;
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
  const toClient = to === c.client;
  const pending = addPending(c, toClient, size);
  to.send(data, { binary: isBinary }, () => written(c, from, toClient, size));
  const fromClient = from === c.client;
  if (pending > HIGH_WATER && !(fromClient ? c.clientPaused : c.upstreamPaused)) {
    if (fromClient) c.clientPaused = true;
    else c.upstreamPaused = true;
    from.pause();
  }
}

/** Adds `delta` to the bytes pending toward the client (or the upstream); returns the new total. */
function addPending(c: Connection, toClient: boolean, delta: number): number {
  if (toClient) {
    c.pendingToClient += delta;
    return c.pendingToClient;
  }
  c.pendingToUpstream += delta;
  return c.pendingToUpstream;
}

/** ws wrote `size` bytes toward the client (or the upstream): resume the sender below LOW_WATER. */
function written(c: Connection, from: GatewaySocket, toClient: boolean, size: number): void {
  const pending = addPending(c, toClient, -size);
  if (pending > LOW_WATER) return;
  if (from === c.client && c.clientPaused) {
    c.clientPaused = false;
    from.resume();
  } else if (from !== c.client && c.upstreamPaused) {
    c.upstreamPaused = false;
    from.resume();
  }
}

/** Closes the other side with this side's code (made sendable) and reason. */
function closeOther(other: WebSocket | null, code: number, reason: Buffer): void {
  if (!other) return;
  if (other.readyState === WebSocket.OPEN) other.close(sendableCode(code), reason.subarray(0, 123));
  else if (other.readyState === WebSocket.CONNECTING) other.terminate();
}

function onClientCloseRelay(this: WebSocket, code: number, reason: Buffer): void {
  closeOther(connectionOf(this)?.upstream ?? null, code, reason);
}

function onUpstreamClose(this: WebSocket, code: number, reason: Buffer): void {
  closeOther(connectionOf(this)?.client ?? null, code, reason);
}

function onClientError(this: WebSocket, error: Error): void {
  const c = connectionOf(this);
  if (!c?.upstream) {
    this.terminate(); // echo: nothing else to tell
    return;
  }
  c.registry.logger.debug({ side: "client", err: error.message }, "relay error");
  if (c.upstream.readyState === WebSocket.OPEN) c.upstream.close(1011, "peer error");
}

function onUpstreamError(this: WebSocket, error: Error): void {
  const c = connectionOf(this);
  c?.registry.logger.debug({ side: "upstream", err: error.message }, "relay error");
  if (c && c.client.readyState === WebSocket.OPEN) c.client.close(1011, "peer error");
}
