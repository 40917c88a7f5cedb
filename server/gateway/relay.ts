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
import type { Logger } from "../log";

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const UPSTREAM_TIMEOUT_MS = 5000;

export interface UpstreamOptions {
  maxPayload: number;
  forwardedFor: string;
  tenant: string;
}

/**
 * `<upstream>/<rest>` with the client's query kept but any `access_token` removed (the
 * token is for the gateway; it must not travel further). `rest` is what follows the slug:
 * "", "/path..." or "?query".
 */
export function upstreamTarget(upstreamUrl: string, rest: string): string {
  const q = rest.indexOf("?");
  const params = new URLSearchParams(q === -1 ? "" : rest.slice(q + 1));
  params.delete("access_token");
  const target = new URL(upstreamUrl);
  target.pathname = target.pathname.replace(/\/+$/, "") + (q === -1 ? rest : rest.slice(0, q));
  for (const [name, value] of params) target.searchParams.append(name, value);
  return target.toString();
}

/** Opens the upstream connection; resolves when it is open, rejects on any failure. */
export function connectUpstream(
  upstreamUrl: string,
  rest: string,
  protocols: string[],
  options: UpstreamOptions,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let upstream: WebSocket;
    try {
      upstream = new WebSocket(upstreamTarget(upstreamUrl, rest), protocols, {
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

/** Forwards frames from `from` to `to`, pausing `from` while `to` is not draining. */
function forward(from: WebSocket, to: WebSocket): void {
  let pending = 0;
  let paused = false;
  from.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
    pending += size;
    to.send(data, { binary: isBinary }, () => {
      pending -= size;
      if (paused && pending <= LOW_WATER) {
        paused = false;
        from.resume();
      }
    });
    if (!paused && pending > HIGH_WATER) {
      paused = true;
      from.pause();
    }
  });
}

export function pipeConnections(client: WebSocket, upstream: WebSocket, logger: Logger): void {
  forward(client, upstream);
  forward(upstream, client);
  const closeOther = (other: WebSocket) => (code: number, reason: Buffer) => {
    if (other.readyState === WebSocket.OPEN) other.close(sendableCode(code), reason.subarray(0, 123));
    else if (other.readyState === WebSocket.CONNECTING) other.terminate();
  };
  client.once("close", closeOther(upstream));
  upstream.once("close", closeOther(client));
  const onError = (side: string, other: WebSocket) => (error: Error) => {
    logger.debug({ side, err: error.message }, "relay error");
    if (other.readyState === WebSocket.OPEN) other.close(1011, "peer error");
  };
  client.on("error", onError("client", upstream));
  upstream.on("error", onError("upstream", client));
}

export function serveEcho(client: WebSocket): void {
  forward(client, client);
  client.on("error", () => client.terminate());
}
