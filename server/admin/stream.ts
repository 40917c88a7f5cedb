/**
 * `/admin/stream`: the dashboard's live audit feed over WebSocket.
 *
 * Handshake: only from the dashboard's origin; authenticated by a short-lived admin token
 * (scope "stream") offered as a `bearer.<jwt>` subprotocol entry next to `og-admin.v1`
 * (never in the URL, so it stays out of logs and history). Filters and resume point in the
 * query: `tenant`, `decision`, `after` (the last event id the client saw).
 *
 * Credentials (each refusal before the upgrade):
 *  - a token opens one stream, once: its `jti` is recorded in Postgres (`admin_token_use`),
 *    so a replay is refused on every gateway of the fleet (401 token_invalid);
 *  - the principal behind it — the user's session or the API token — must still be valid at
 *    the handshake, and is checked again every `recheckMs` while the stream is open: once
 *    the session ends or the API token is revoked, the stream closes with 1008;
 *  - at most `maxPerPrincipal` open streams per user or API token (503 connection_limit), so
 *    one viewer cannot take the gateway's `maxClients` slots (all principals together).
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
import { type AdminPrincipal, consumeAdminToken, livePrincipals, principalKey } from "../db/admin-queries";
import { type AuditEvent, auditAfter } from "../db/audit-queries";
import { abortHandshake } from "../gateway/abort-handshake";
import { parseSubprotocols } from "../gateway/request-headers";
import type { Logger } from "../log";
import { parseOrigin } from "../policy/parse-origin";
import { type VerifiedAdminClaims, verifyAdminToken } from "./admin-token";

export const STREAM_PROTOCOL = "og-admin.v1";
const HIGH_WATER = 512 * 1024;
const LOW_WATER = 64 * 1024;
const PAGE = 500;
const DECISIONS = new Set(["accepted", "rejected", "report_only"]);
export const STREAM_DEFAULTS = { maxClients: 200, maxPerPrincipal: 5, recheckMs: 5000 } as const;

interface StreamClient {
  ws: WebSocket;
  principal: AdminPrincipal;
  /** When the principal was last found valid (epoch ms). */
  verifiedAt: number;
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
  /** Open streams per gateway, all principals together (default 200). */
  maxClients?: number;
  /** Open streams per user or API token (default 5; `ADMIN_STREAM_MAX_PER_USER`). */
  maxPerPrincipal?: number;
  /** How often open streams' sessions and API tokens are checked again (default 5000 ms). */
  recheckMs?: number;
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
  /** Running only while a stream is open (an idle gateway has nothing to check). */
  private lagTimer: NodeJS.Timeout | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;
  /** Streams accepted or being set up (slots), in all and per user or API token. */
  private slots = 0;
  private readonly slotsByPrincipal = new Map<string, number>();
  private rechecking = false;
  private readonly maxClients: number;
  private readonly maxPerPrincipal: number;
  private readonly recheckMs: number;

  constructor(private readonly options: StreamHubOptions) {
    this.maxClients = options.maxClients ?? STREAM_DEFAULTS.maxClients;
    this.maxPerPrincipal = options.maxPerPrincipal ?? STREAM_DEFAULTS.maxPerPrincipal;
    this.recheckMs = options.recheckMs ?? STREAM_DEFAULTS.recheckMs;
    options.tail.on("event", (event) => this.dispatch(event));
  }

  /** The lag check and the principals' recheck run while at least one stream is open. */
  private timers(on: boolean): void {
    if (on && !this.lagTimer) {
      this.lagTimer = setInterval(() => this.checkLagging(), 200);
      this.lagTimer.unref();
      this.recheckTimer = setInterval(() => void this.recheckPrincipals(), this.recheckMs);
      this.recheckTimer.unref();
    } else if (!on && this.lagTimer) {
      clearInterval(this.lagTimer);
      clearInterval(this.recheckTimer ?? undefined);
      this.lagTimer = null;
      this.recheckTimer = null;
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Streams that are not sent more until their send buffer drains (tests, diagnostics). */
  get lagging(): number {
    let n = 0;
    for (const client of this.clients) if (client.mode === "lagging") n += 1;
    return n;
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

    const query = new URL(req.url ?? "/", "http://gateway").searchParams;
    // A token limited to one tenant streams that tenant only, whatever the query asks for.
    const scope = verified.claims.tenant;
    if (scope !== undefined) {
      const asked = query.get("tenant");
      if (asked && asked !== scope) {
        return abortHandshake(socket, 403, "token_invalid", `this token is limited to tenant ${scope}`);
      }
      query.set("tenant", scope);
    }
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
    const claims = verified.claims;
    const principal: AdminPrincipal = { kind: claims.kind ?? "user", sub: claims.sub, sid: claims.sid };
    const owner = capKey(claims);
    if (this.slots >= this.maxClients) {
      return abortHandshake(socket, 503, "connection_limit", "too many admin streams on this gateway");
    }
    if ((this.slotsByPrincipal.get(owner) ?? 0) >= this.maxPerPrincipal) {
      return abortHandshake(
        socket,
        503,
        "connection_limit",
        `at most ${this.maxPerPrincipal} admin streams per user or API token; close another tab`,
      );
    }
    // Taken now, before the database answers, so concurrent handshakes cannot all pass;
    // given back when the socket closes, whatever happens in between.
    const release = this.takeSlot(owner);
    socket.once("close", release);
    void this.admit(claims, principal).then(
      (refusal) => {
        if (refusal || socket.destroyed) {
          release();
          if (refusal) abortHandshake(socket, refusal.status, refusal.reason, refusal.message);
          else socket.destroy();
          return;
        }
        this.accept(req, socket, head, principal, query, after, release);
      },
      (error: unknown) => {
        release();
        this.options.logger.warn({ err: (error as Error).message }, "admin stream credentials could not be checked");
        abortHandshake(socket, 503, "gateway_unavailable", "credentials could not be checked; try again");
      },
    );
  }

  /** Single use and a live principal; null when the stream may open. */
  private async admit(
    claims: VerifiedAdminClaims,
    principal: AdminPrincipal,
  ): Promise<{ status: number; reason: string; message: string } | null> {
    if (!(await consumeAdminToken(this.options.pool, claims.jti, claims.exp))) {
      return { status: 401, reason: "token_invalid", message: "this token was used already; get a fresh one" };
    }
    const live = await livePrincipals(this.options.pool, [principal]);
    if (!live.has(principalKey(principal))) {
      return { status: 401, reason: "token_invalid", message: "the session or API token behind this token is gone" };
    }
    return null;
  }

  private takeSlot(owner: string): () => void {
    this.slots += 1;
    this.slotsByPrincipal.set(owner, (this.slotsByPrincipal.get(owner) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.slots -= 1;
      const left = (this.slotsByPrincipal.get(owner) ?? 1) - 1;
      if (left > 0) this.slotsByPrincipal.set(owner, left);
      else this.slotsByPrincipal.delete(owner);
    };
  }

  private accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    principal: AdminPrincipal,
    query: URLSearchParams,
    after: string | null,
    release: () => void,
  ): void {
    const decision = query.get("decision") ?? undefined;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", () => ws.terminate());
      const tail = this.options.tail;
      let closed = false;
      ws.once("close", () => {
        closed = true;
        release();
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
          principal,
          verifiedAt: Date.now(),
          tenant: query.get("tenant") || undefined,
          decision: decision as AuditDecision | undefined,
          cursor: BigInt(after ?? tail.lastId),
          mode: "backfill",
          missed: 0,
        };
        this.clients.add(client);
        this.timers(true);
        ws.once("close", () => {
          this.clients.delete(client);
          if (this.clients.size === 0) this.timers(false);
        });
        // The stream is one-way; anything the browser sends is ignored.
        send(client, { type: "hello", cursor: client.cursor.toString() });
        void this.backfill(client);
      });
    });
  }

  /**
   * Closes the streams whose session ended or whose API token was revoked (1008). When the
   * check itself fails (Postgres away), a stream stays open only while its principal was
   * verified within the last three intervals: unverifiable credentials do not keep a
   * stream open indefinitely.
   */
  private async recheckPrincipals(): Promise<void> {
    if (this.rechecking || this.clients.size === 0) return;
    this.rechecking = true;
    const now = Date.now();
    try {
      const clients = [...this.clients];
      let live: Set<string> | null = null;
      try {
        live = await livePrincipals(
          this.options.pool,
          clients.map((c) => c.principal),
        );
      } catch (error) {
        this.options.logger.warn({ err: (error as Error).message }, "admin stream credentials could not be re-checked");
      }
      for (const client of clients) {
        if (live?.has(principalKey(client.principal))) {
          client.verifiedAt = now;
        } else if (live !== null || now - client.verifiedAt > 3 * this.recheckMs) {
          client.ws.close(1008, live !== null ? "credentials revoked" : "credentials could not be verified");
        }
      }
    } finally {
      this.rechecking = false;
    }
  }

  async stop(): Promise<void> {
    this.timers(false);
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

/** What the per-principal cap counts by: every session of one user together, or one API token. */
function capKey(claims: VerifiedAdminClaims): string {
  return `${claims.kind ?? "user"}:${claims.sub}`;
}

function send(client: StreamClient, message: unknown): void {
  if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify(message));
}
