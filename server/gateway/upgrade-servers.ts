/**
 * The `ws` servers that complete the gateway's upgrades (`noServer`: ws never sees a
 * request we have not decided on; ws README, "Client authentication").
 *
 * Why several: ws enforces `maxPayload` in the receiver it creates for each connection,
 * from the options of the server that upgraded it, and a tenant's `limits.maxMessageBytes`
 * must be enforced there — before a frame is buffered — not by a size check after a
 * message has been read into memory (one server with the largest allowed size would let a
 * 1 KB tenant's client make the gateway buffer megabytes). So there is one server per
 * distinct size in use.
 *
 * Bounds: the servers belong to one gateway (not the module) and at most MAX_SERVERS are
 * kept; the oldest is dropped first. Dropping one is harmless: with `clientTracking: false`
 * a server holds no connections (they keep their receivers), and creating one is a plain
 * object with options, so a tenant whose size was dropped only pays a constructor call.
 *
 * The subprotocol was chosen by the decision (or the upstream) before the upgrade; ws asks
 * for it synchronously inside handleUpgrade, which is why one field carries it.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { GatewaySocket } from "./connections";

export const MAX_SERVERS = 32;

export class UpgradeServers {
  private readonly servers = new Map<number, WebSocketServer>();
  /** The protocol to answer for the upgrade being completed right now. */
  private protocol: string | false = false;

  constructor(private readonly maxServers = MAX_SERVERS) {}

  /** Servers held now (at most maxServers). */
  get size(): number {
    return this.servers.size;
  }

  /**
   * Completes the upgrade with messages limited to `maxPayload` bytes and `protocol` as the
   * answered subprotocol. `done` is called synchronously when ws upgraded the socket; ws
   * drops a socket that is no longer writable without calling it.
   */
  upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    maxPayload: number,
    protocol: string | null,
    done: (client: GatewaySocket) => void,
  ): void {
    this.protocol = protocol ?? false;
    try {
      this.serverFor(maxPayload).handleUpgrade(req, socket, head, (client) => done(client as GatewaySocket));
    } finally {
      this.protocol = false;
    }
  }

  private serverFor(maxPayload: number): WebSocketServer {
    const existing = this.servers.get(maxPayload);
    if (existing) return existing;
    if (this.servers.size >= this.maxServers) {
      const oldest = this.servers.keys().next().value;
      if (oldest !== undefined) this.servers.delete(oldest);
    }
    const created = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload,
      WebSocket: GatewaySocket,
      handleProtocols: () => this.protocol,
    });
    this.servers.set(maxPayload, created);
    return created;
  }
}
