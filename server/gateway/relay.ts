/**
 * What an accepted connection does: echo (the demo target, here, on `ws`), or relay to the
 * tenant's upstream (proxy mode: the raw relay of frame-relay.ts, started by handshake.ts).
 *
 * Backpressure of the echo: every frame sent back is counted until ws reports it written
 * to the socket; when more than HIGH_WATER bytes are pending, the client is paused (ws
 * stops reading from its socket, so TCP flow control pushes back on it) and resumed below
 * LOW_WATER. Memory per connection therefore stays bounded whatever the client does.
 */
import { WebSocket } from "ws";
import { type Connection, connectionOf, type GatewaySocket } from "./connections";

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * Starts echoing for an accepted connection without upstream. Listeners are module-level
 * and find the connection through `this` (see connections.ts, "Memory").
 */
export function echo(connection: Connection): void {
  const client = connection.client as GatewaySocket;
  client.on("message", onClientMessage);
  client.on("error", onClientError);
}

type Frame = Buffer | ArrayBuffer | Buffer[];

function onClientMessage(this: WebSocket, data: Frame, isBinary: boolean): void {
  const c = connectionOf(this);
  if (!c) return;
  c.lastSeenAt = Date.now();
  const client = c.client as GatewaySocket;
  if (client.readyState !== WebSocket.OPEN) return;
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
  c.pendingToClient += size;
  client.send(data, { binary: isBinary }, () => written(c, size));
  if (c.pendingToClient > HIGH_WATER && !c.clientPaused) {
    c.clientPaused = true;
    client.pause();
  }
}

/** ws wrote `size` bytes back to the client: resume it below LOW_WATER. */
function written(c: Connection, size: number): void {
  c.pendingToClient -= size;
  if (c.pendingToClient > LOW_WATER || !c.clientPaused) return;
  c.clientPaused = false;
  (c.client as GatewaySocket).resume();
}

function onClientError(this: WebSocket): void {
  this.terminate(); // echo: nothing else to tell
}
