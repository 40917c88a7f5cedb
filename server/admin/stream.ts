/**
 * `/admin/stream`: the dashboard's live audit feed over WebSocket.
 *
 * Handshake: only from the dashboard's origin; authenticated by a short-lived admin token
 * (scope "stream") offered as a `bearer.<jwt>` subprotocol entry next to `og-admin.v1`
 * (never in the URL, so it stays out of logs and history). Filters and resume point in the
 * query: `tenant`, `decision`, `after` (the last event id the client saw).
 *
 * Delivery, per client, with no gap and no duplicate:
 *  - backfill: events after the client's cursor are read from Postgres in pages until the
 *    client has caught up with the shared tail, then it switches to live;
 *  - live: events from the tail (all gateways' batches) with id > cursor are sent;
 *  - lagging: when a client's send buffer exceeds HIGH_WATER it is not sent more; missed
 *    events are counted, and once the buffer drains below LOW_WATER it is told how many it
 *    missed (`{type:"lagged", missed}`) and backfilled from its cursor. Memory per client
 *    is bounded by HIGH_WATER plus one page, whatever the browser's speed.
 * Messages: {type:"hello", cursor}, {type:"event", event}, {type:"live", cursor},
 * {type:"lagged", missed}.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { AuditTail } from "../audit/tail";
import type { AuditDecision } from "../audit/types";
import { type AuditEvent, auditAfter } from "../db/audit-queries";
import { abortHandshake } from "../gateway/abort-handshake";
import { parseSubprotocols } from "../gateway/handshake";
import type { Logger } from "../log";
import { parseOrigin } from "../policy/parse-origin";
import { verifyAdminToken } from "./admin-token";

export const STREAM_PROTOCOL = "og-admin.v1";
const HIGH_WATER = 512 * 1024;
const LOW_WATER = 64 * 1024;
const PAGE = 500;
const MAX_CLIENTS = 200;
const DECISIONS = new Set(["accepted", "rejected", "report_only"]);

interface StreamClient {
  ws: WebSocket;
  tenant?: string;
  decision?: AuditDecision;
  cursor: bigint;
  mode: "backfill" | "live" | "lagging";
  missed: number;
}

export interface StreamHubOptions {
  tail: AuditTail;
  pool: import("pg").Pool;
  logger: Logger;
  /** The dashboard's origin, the only one allowed to open the stream. */
  dashboardOrigin: string;
  /** The admin-token key, or null while it could not be loaded (answers 503). */
  adminKey: () => string | null;
}

export class StreamHub {
  private readonly clients = new Set<StreamClient>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: 4096,
    handleProtocols: (offered) => (offered.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false),
  });
  private readonly lagTimer: NodeJS.Timeout;

  constructor(private readonly options: StreamHubOptions) {
    options.tail.on("event", (event) => this.dispatch(event));
    this.lagTimer = setInterval(() => this.checkLagging(), 200);
    this.lagTimer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const origin = parseOrigin(req.headersDistinct.origin);
    if (origin.kind !== "origin" || origin.origin !== this.options.dashboardOrigin) {
      return abortHandshake(socket, 403, "origin_not_allowed", "the admin stream only accepts the dashboard's origin");
    }
    const offered = parseSubprotocols(req);
    if (offered === null || !offered.includes(STREAM_PROTOCOL)) {
      return abortHandshake(socket, 400, "bad_handshake", `offer the ${STREAM_PROTOCOL} subprotocol`);
    }
    const key = this.options.adminKey();
    if (!key) return abortHandshake(socket, 503, "gateway_unavailable", "admin key not loaded yet");
    const bearer = offered.find((p) => p.startsWith("bearer."));
    if (!bearer) return abortHandshake(socket, 401, "token_missing", "an admin token is required");
    const verified = verifyAdminToken(bearer.slice("bearer.".length), key, "stream");
    if (!verified.ok) return abortHandshake(socket, 401, "token_invalid", verified.message);
    if (this.clients.size >= MAX_CLIENTS)
      return abortHandshake(socket, 503, "connection_limit", "too many admin streams");

    const query = new URL(req.url ?? "/", "http://gateway").searchParams;
    const decision = query.get("decision") ?? undefined;
    const after = query.get("after");
    if ((decision && !DECISIONS.has(decision)) || (after !== null && !/^\d{1,19}$/.test(after))) {
      return abortHandshake(
        socket,
        400,
        "bad_handshake",
        "bad filter: decision must be accepted|rejected|report_only, after an event id",
      );
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", () => ws.terminate());
      const tail = this.options.tail;
      let closed = false;
      ws.once("close", () => {
        closed = true;
        tail.release();
      });
      // The tail reads only while streams are open; wait until its position is current.
      void tail.acquire().then((positioned) => {
        if (closed) return;
        if (!positioned && after === null) {
          // Without a resume point the stream starts at the newest event, which is unknown now.
          ws.close(1011, "audit log unavailable; reconnect to resume");
          return;
        }
        const client: StreamClient = {
          ws,
          tenant: query.get("tenant") || undefined,
          decision: decision as AuditDecision | undefined,
          cursor: BigInt(after ?? tail.lastId),
          mode: "backfill",
          missed: 0,
        };
        this.clients.add(client);
        ws.once("close", () => this.clients.delete(client));
        // The stream is one-way; anything the browser sends is ignored.
        send(client, { type: "hello", cursor: client.cursor.toString() });
        void this.backfill(client);
      });
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.lagTimer);
    for (const c of this.clients) c.ws.close(1001, "gateway shutting down");
  }

  private matches(client: StreamClient, event: AuditEvent): boolean {
    return (
      (!client.tenant || event.tenant === client.tenant) && (!client.decision || event.decision === client.decision)
    );
  }

  private dispatch(event: AuditEvent): void {
    const id = BigInt(event.id);
    for (const client of this.clients) {
      if (client.mode === "backfill" || id <= client.cursor) continue;
      if (!this.matches(client, event)) {
        if (client.mode === "live") client.cursor = id;
        continue;
      }
      if (client.mode === "lagging") {
        client.missed += 1;
      } else if (client.ws.bufferedAmount > HIGH_WATER) {
        client.mode = "lagging";
        client.missed = 1;
      } else {
        send(client, { type: "event", event });
        client.cursor = id;
      }
    }
  }

  private checkLagging(): void {
    for (const client of this.clients) {
      if (client.mode === "lagging" && client.ws.bufferedAmount < LOW_WATER) {
        send(client, { type: "lagged", missed: client.missed });
        client.missed = 0;
        client.mode = "backfill";
        void this.backfill(client);
      }
    }
  }

  /** Reads from Postgres after the cursor until caught up with the tail, then goes live. */
  private async backfill(client: StreamClient): Promise<void> {
    try {
      for (;;) {
        if (client.ws.readyState !== client.ws.OPEN) return;
        if (client.ws.bufferedAmount > HIGH_WATER) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const page = await auditAfter(this.options.pool, client.cursor.toString(), PAGE, {
          tenant: client.tenant,
          decision: client.decision,
        });
        for (const event of page) {
          send(client, { type: "event", event });
          client.cursor = BigInt(event.id);
        }
        if (page.length === PAGE) continue;
        // Caught up with what Postgres had; if the tail dispatched past us meanwhile, read on.
        const tailId = BigInt(this.options.tail.lastId);
        if (tailId > client.cursor) {
          const more = await auditAfter(this.options.pool, client.cursor.toString(), 1, {
            tenant: client.tenant,
            decision: client.decision,
          });
          if (more.length > 0) continue;
          // Nothing for this client up to tailId; if the tail moved during the read, look again.
          client.cursor = tailId;
          if (BigInt(this.options.tail.lastId) !== tailId) continue;
        }
        client.mode = "live";
        send(client, { type: "live", cursor: client.cursor.toString() });
        return;
      }
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, "stream backfill failed; closing the stream");
      client.ws.close(1011, "backfill failed; reconnect to resume");
    }
  }
}

function send(client: StreamClient, message: unknown): void {
  if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify(message));
}
