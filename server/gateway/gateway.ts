/**
 * One gateway: an HTTP server whose `upgrade` event is the enforcement point.
 *
 * Routes: `/t/<slug>/<rest>` (tenant WebSocket endpoint, see handshake.ts), `/admin/...`
 * (admin stream and tester), `/healthz`, `/readyz`, `/metrics`.
 *
 * Lifecycle: start() listens at once (so /healthz answers while policies load) and loads
 * policies in the background; `/readyz` answers 503 until they are loaded. stop() stops
 * accepting, closes client connections with 1001 (going away), waits for them to drain
 * (bounded), flushes the audit queue, marks the instance stopped and closes the pools.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type pg from "pg";
import { WebSocketServer } from "ws";
import { InstanceRecorder } from "../admin/instance";
import { createMetrics, type Metrics } from "../admin/metrics";
import { StreamHub } from "../admin/stream";
import { AuditPipeline } from "../audit/pipeline";
import { AuditTail } from "../audit/tail";
import { createPool } from "../db/pool";
import { getOrCreateSetting, SETTING_ADMIN_TOKEN_KEY } from "../db/settings";
import type { Logger } from "../log";
import { TRUST_NONE, type TrustProxy } from "../net/client-address";
import { PolicyStore } from "../policy-store/policy-store";
import { handleTesterHttp, TESTER_PATH_PREFIX } from "../tester/tester-http";
import { abortHandshake } from "./abort-handshake";
import { ConnectionRegistry } from "./connections";
import { AUTHZ_PREFIX, answerForwardAuth } from "./forward-auth";
import { handleTenantUpgrade } from "./handshake";
import {
  DEFAULT_HTTP_MAX_BODY_BYTES,
  DEFAULT_HTTP_UPSTREAM_TIMEOUT_MS,
  type HttpProxyLimits,
  handleTenantHttp,
} from "./http-proxy";
import { sendReply, sendReplyOnSocket } from "./http-reply";
import { RateLimits } from "./limits";

export interface GatewayOptions {
  databaseUrl: string;
  logger: Logger;
  gatewayId?: string;
  host?: string;
  reconcileIntervalMs?: number;
  heartbeatIntervalMs?: number;
  handshakeTimeoutMs?: number;
  maxHeaderBytes?: number;
  /** Whose X-Forwarded-For to believe (SPEC §5); none by default. */
  trustProxy?: TrustProxy;
  /** Bound on waiting for connections to close on shutdown. */
  drainTimeoutMs?: number;
  audit?: { queueMax?: number; flushMs?: number; foldWindowMs?: number };
  /** The dashboard's URL: its origin is the only one the admin stream accepts. */
  dashboardUrl: string;
  /** HTTP/SSE proxying: HTTP_MAX_BODY_BYTES, HTTP_UPSTREAM_TIMEOUT_MS. */
  http?: Partial<HttpProxyLimits>;
}

export interface GatewayContext {
  id: string;
  logger: Logger;
  pool: pg.Pool;
  store: PolicyStore;
  metrics: Metrics;
  wss: WebSocketServer;
  connections: ConnectionRegistry;
  rateLimits: RateLimits;
  audit: AuditPipeline;
  trustProxy: TrustProxy;
  /** Request body and upstream timeout bounds of HTTP/SSE proxying. */
  httpLimits: HttpProxyLimits;
  /** True once stop() began: new handshakes are refused. */
  stopping: boolean;
  /** HMAC key of dashboard-minted admin tokens (null until loaded from Postgres). */
  adminKey: string | null;
}

const TENANT_PATH = /^\/t\/([^/?#]*)(.*)$/s;

export class Gateway {
  readonly id: string;
  readonly ctx: GatewayContext;
  private readonly server: http.Server;
  private readonly instance: InstanceRecorder;
  private readonly startedAt = Date.now();
  private storeStart: Promise<void> | null = null;
  private readonly tail: AuditTail;
  private readonly stream: StreamHub;
  private adminStart: Promise<void> | null = null;

  constructor(private readonly options: GatewayOptions) {
    this.id = options.gatewayId ?? `gw-${randomUUID().slice(0, 8)}`;
    const logger = options.logger.child({ gatewayId: this.id });
    const pool = createPool(options.databaseUrl, { max: 6, applicationName: `origingate-gateway-${this.id}` });
    const metrics = createMetrics();
    const audit = new AuditPipeline({
      pool,
      gatewayId: this.id,
      logger: logger.child({ component: "audit" }),
      metrics,
      ...options.audit,
    });
    const store = new PolicyStore({
      pool,
      connectionString: options.databaseUrl,
      gatewayId: this.id,
      logger: logger.child({ component: "policy-store" }),
      reconcileIntervalMs: options.reconcileIntervalMs ?? 3000,
    });
    store.on("reload", (slug, runtime, latencyMs) => {
      metrics.policyReloads.inc({ tenant: slug });
      metrics.policyReloadSeconds.observe(latencyMs / 1000);
      if (runtime) metrics.policyVersion.set({ tenant: slug }, runtime.version);
      else metrics.policyVersion.remove({ tenant: slug });
      logger.info(
        { tenant: slug, version: runtime?.version ?? null, latencyMs: Math.round(latencyMs) },
        "policy loaded",
      );
    });
    this.ctx = {
      id: this.id,
      logger,
      pool,
      store,
      metrics,
      // noServer: ws never sees a request we have not decided on (ws README, "Client authentication").
      wss: new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false }),
      connections: new ConnectionRegistry(metrics, audit, logger.child({ component: "relay" })),
      rateLimits: new RateLimits(),
      audit,
      trustProxy: options.trustProxy ?? TRUST_NONE,
      httpLimits: {
        maxBodyBytes: options.http?.maxBodyBytes ?? DEFAULT_HTTP_MAX_BODY_BYTES,
        upstreamTimeoutMs: options.http?.upstreamTimeoutMs ?? DEFAULT_HTTP_UPSTREAM_TIMEOUT_MS,
      },
      stopping: false,
      adminKey: null,
    };
    this.tail = new AuditTail(pool, options.databaseUrl, this.id, logger.child({ component: "audit-tail" }));
    this.stream = new StreamHub({
      tail: this.tail,
      pool,
      logger: logger.child({ component: "admin-stream" }),
      dashboardOrigin: new URL(options.dashboardUrl).origin,
      adminKey: () => this.ctx.adminKey,
    });
    this.instance = new InstanceRecorder({
      pool,
      gatewayId: this.id,
      intervalMs: options.heartbeatIntervalMs ?? 5000,
      logger,
      snapshot: () => ({ enforcedVersions: store.enforcedVersions(), status: store.health().status }),
    });
    this.server = http.createServer(
      {
        maxHeaderSize: options.maxHeaderBytes ?? 16_384,
        headersTimeout: options.handshakeTimeoutMs ?? 10_000,
        requestTimeout: 30_000,
        // How often Node checks those timeouts (default 30 s would let slow heads linger).
        connectionsCheckingInterval: Math.min(1000, options.handshakeTimeoutMs ?? 10_000),
      },
      (req, res) => void this.handleRequest(req, res),
    );
    this.server.on("upgrade", (req, socket, head) => this.handleUpgrade(req, socket, head));
    // Oversized or malformed request heads: answer with a status, never hang.
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      abortHandshake(socket, status, "bad_handshake", `${error.code ?? "bad request"}`);
    });
  }

  /** Listens on `port` (0 = any) and starts loading policies in the background. */
  async start(port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, this.options.host ?? "0.0.0.0", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.storeStart = this.ctx.store.start().then(() => this.instance.beat());
    this.adminStart = this.startAdmin();
    void this.instance.start();
    const address = this.server.address() as AddressInfo;
    this.ctx.logger.info({ port: address.port }, "gateway listening");
    return address;
  }

  /** Loads the admin-token key and starts the audit tail, retrying while Postgres is away. */
  private async startAdmin(): Promise<void> {
    for (let attempt = 0; !this.ctx.stopping; attempt++) {
      try {
        this.ctx.adminKey = await getOrCreateSetting(this.ctx.pool, SETTING_ADMIN_TOKEN_KEY);
        await this.tail.start();
        return;
      } catch (error) {
        this.ctx.logger.warn({ err: (error as Error).message }, "admin endpoints not ready; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }

  /** Resolves when policies are loaded (the gateway is ready) and the admin side is up. */
  async ready(): Promise<void> {
    await this.storeStart;
    await this.adminStart;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (this.ctx.stopping) return;
    this.ctx.stopping = true;
    this.ctx.logger.info("gateway stopping: draining connections");
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.ctx.connections.drain(this.options.drainTimeoutMs ?? 5000);
    this.server.closeAllConnections();
    await this.stream.stop();
    await closed;
    await this.ctx.audit.stop();
    await this.tail.stop();
    await this.ctx.store.stop();
    await this.instance.stop();
    await this.ctx.pool.end().catch(() => {});
    this.ctx.logger.info("gateway stopped");
  }

  private async handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path.startsWith(AUTHZ_PREFIX)) {
      sendReply(res, await answerForwardAuth(this.ctx, req));
      return;
    }
    const tenantMatch = TENANT_PATH.exec(req.url ?? "/");
    if (tenantMatch) {
      handleTenantHttp(this.ctx, req, res, decodeSlug(tenantMatch[1] ?? ""), tenantMatch[2] ?? "");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD" && !path?.startsWith("/admin/")) {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      const store = this.ctx.store.health();
      const body = {
        status: store.status === "ok" ? "ok" : store.status,
        gatewayId: this.id,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
        policy: store,
        connections: this.ctx.connections.size,
      };
      // Degraded still answers 200: the gateway is alive and enforcing its last policies.
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(body));
      return;
    }
    if (path === "/readyz") {
      const ready = this.ctx.store.ready && !this.ctx.stopping;
      res.writeHead(ready ? 200 : 503, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify({ ready, tenants: this.ctx.store.health().tenants }));
      return;
    }
    if (path === "/metrics") {
      this.ctx.metrics.policyAge.set(this.ctx.store.policyAgeSeconds());
      this.ctx.metrics.auditQueueDepth.set(this.ctx.audit.depth);
      res.writeHead(200, { "Content-Type": this.ctx.metrics.registry.contentType });
      res.end(await this.ctx.metrics.registry.metrics());
      return;
    }
    if (path?.startsWith(TESTER_PATH_PREFIX)) {
      await handleTesterHttp(this.ctx, req, res, this.server.address() as AddressInfo);
      return;
    }
    res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error: { code: "not_found" } }));
  }

  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = req.url ?? "/";
    if (url.startsWith(AUTHZ_PREFIX)) {
      // A forward-auth subrequest that carries upgrade headers (Caddy's does): plain HTTP.
      void answerForwardAuth(this.ctx, req).then((reply) => sendReplyOnSocket(socket, reply));
      return;
    }
    const tenantMatch = TENANT_PATH.exec(url);
    if (tenantMatch) {
      handleTenantUpgrade(this.ctx, req, socket, head, decodeSlug(tenantMatch[1] ?? ""), tenantMatch[2] ?? "");
      return;
    }
    if (url === "/admin/stream" || url.startsWith("/admin/stream?")) {
      this.stream.handleUpgrade(req, socket, head);
      return;
    }
    abortHandshake(socket, 404, "tenant_unknown", "no such endpoint");
  }
}

function decodeSlug(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
