/**
 * One gateway: an HTTP server whose `upgrade` event is the enforcement point, and, when
 * configured (`ADMIN_HOST`/`ADMIN_PORT`), a second listener for operations.
 *
 * Public port — upgrades: `/t/<slug>/<rest>` (tenant WebSocket endpoint, handshake.ts),
 * `/admin/stream` (live audit feed), `/authz/...` (a forward-auth subrequest that carries
 * upgrade headers, answered as plain HTTP); plain HTTP (route table below):
 * `/admin/tester/...`, `/t/...` (HTTP/SSE to the tenant's upstream with the CORS decision,
 * http-proxy.ts; 426 without an upstream), `/authz/...` (forward auth, forward-auth.ts), and
 * `/healthz`, `/readyz`, `/metrics` unless the admin listener serves them. Admin listener: `/healthz`, `/readyz`, `/metrics` only, with the
 * internal detail the public answers leave out (server/admin/health.ts); no upgrades.
 *
 * Lifecycle: start() listens at once (so /healthz answers while policies load) and loads
 * policies in the background; `/readyz` answers 503 until they are loaded. stop() stops
 * accepting, closes client connections with 1001 (going away), waits for them to drain
 * (bounded), flushes the audit queue (the closes included), marks the instance stopped and
 * closes the pools; the admin listener closes last, so `/readyz` says 503 while draining.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type Exposure, healthRoutes } from "../admin/health";
import { InstanceRecorder } from "../admin/instance";
import { createMetrics } from "../admin/metrics";
import { StreamHub } from "../admin/stream";
import { AlertKeeper } from "../alerts/evaluate-alerts";
import { AuditPartitionKeeper } from "../audit/partitions";
import { AuditPipeline, MAX_FOLD_KEYS } from "../audit/pipeline";
import { AuditSummaryKeeper } from "../audit/summary";
import { AuditTail } from "../audit/tail";
import { PgListener } from "../db/pg-listener";
import { createPool } from "../db/pool";
import { getOrCreateSecretSetting, SETTING_ADMIN_TOKEN_KEY } from "../db/settings";
import type { Logger } from "../log";
import { TRUST_NONE, type TrustProxy } from "../net/client-address";
import type { Resolver } from "../net/pinned-lookup";
import { PolicyStore } from "../policy-store/policy-store";
import { PolicySnapshotFile } from "../policy-store/snapshot";
import { choosePolicy } from "../policy-store/staged-policy";
import type { SecretBox } from "../secrets/secret-box";
import { SiemExporter } from "../siem/siem-exporter";
import { handleTesterHttp, TESTER_PATH_PREFIX } from "../tester/tester-http";
import { abortHandshake } from "./abort-handshake";
import { ConnectionRegistry } from "./connections";
import {
  DEFAULT_HTTP_MAX_BODY_BYTES,
  DEFAULT_HTTP_UPSTREAM_TIMEOUT_MS,
  type GatewayContext,
  type HttpProxyLimits,
} from "./context";
import { AUTHZ_PREFIX, answerForwardAuth } from "./forward-auth";
import { handleTenantUpgrade } from "./handshake";
import { handleTenantHttp } from "./http-proxy";
import { sendReply, sendReplyOnSocket } from "./http-reply";
import { type HttpRoute, routeRequest } from "./http-routes";
import { type RateLimitOptions, RateLimits } from "./limits";
import { RolloutGuard } from "./rollout-guard";
import { UpgradeServers } from "./upgrade-servers";

export interface GatewayOptions {
  databaseUrl: string;
  logger: Logger;
  gatewayId?: string;
  /** GATEWAY_LABELS (canary by label, SPEC §5.2). */
  labels?: readonly string[];
  host?: string;
  reconcileIntervalMs?: number;
  heartbeatIntervalMs?: number;
  handshakeTimeoutMs?: number;
  maxHeaderBytes?: number;
  /** Whose X-Forwarded-For to believe (SPEC §5); none by default. */
  trustProxy?: TrustProxy;
  /** Handshake budgets and their memory bound (server/gateway/limits.ts). */
  rateLimits?: RateLimitOptions;
  /** Bound on waiting for connections to close on shutdown. */
  drainTimeoutMs?: number;
  audit?: {
    queueMax?: number;
    flushMs?: number;
    foldWindowMs?: number;
    stallAfterMs?: number;
    /** AUDIT_RETENTION_DAYS: this gateway keeps the audit partitions (null/undefined: it does not). */
    retentionDays?: number | null;
    /** How often this gateway brings the audit summary up to date (default 5 s). */
    summaryIntervalMs?: number;
  };
  /**
   * Alert rules and webhook deliveries (server/alerts/): every gateway runs the keeper, one at a
   * time evaluates (advisory lock). `false` turns it off in this process.
   */
  alerts?: false | { intervalMs?: number; deliverIntervalMs?: number; backoffBaseMs?: number };
  /** The dashboard's URL: its origin is the only one the admin stream accepts. */
  dashboardUrl: string;
  /** HTTP/SSE proxying: HTTP_MAX_BODY_BYTES, HTTP_UPSTREAM_TIMEOUT_MS. */
  http?: Partial<HttpProxyLimits>;
  /** Admin stream: streams per user or API token, and how often their credentials are re-checked. */
  adminStream?: { maxPerPrincipal?: number; recheckMs?: number };
  /**
   * A separate listener for `/healthz`, `/readyz` and `/metrics` (`ADMIN_HOST`/`ADMIN_PORT`);
   * the public port then no longer serves them. Port 0 = any free port.
   */
  admin?: { host?: string; port: number };
  /** SECRETS_KEY: opens sealed token secrets and seals the snapshot; null = none. */
  secrets?: SecretBox | null;
  /** Last-known-good policy snapshot file (needs `secrets`); null/undefined = none. */
  snapshotPath?: string | null;
  /** SIEM export (server/siem/): events held per destination, destination reload interval, DNS (tests). */
  siem?: { queueMax?: number; reloadMs?: number; backoffMaxMs?: number; resolver?: Resolver };
}

const TENANT_PATH = /^\/t\/([^/?#]*)(.*)$/s;

export class Gateway {
  readonly id: string;
  readonly ctx: GatewayContext;
  private readonly server: http.Server;
  /** The admin listener (`options.admin`), or null. */
  private readonly adminServer: http.Server | null;
  private readonly instance: InstanceRecorder;
  private readonly startedAt = Date.now();
  private storeStart: Promise<void> | null = null;
  private readonly tail: AuditTail;
  private readonly stream: StreamHub;
  private adminStart: Promise<void> | null = null;
  private readonly partitions: AuditPartitionKeeper | null;
  readonly alerts: AlertKeeper | null;
  /** Keeps the audit summary (overview, origin search) up to date: every gateway tries, one at a time does it. */
  readonly summary: AuditSummaryKeeper;
  /** Streams the audit batches this gateway commits to the SIEM destinations. */
  readonly siem: SiemExporter;

  constructor(private readonly options: GatewayOptions) {
    this.id = options.gatewayId ?? `gw-${randomUUID().slice(0, 8)}`;
    const logger = options.logger.child({ gatewayId: this.id });
    // Two Postgres connections per gateway at most (issue 15, docs/postgres.md): one LISTEN
    // connection, shared by the policy store and the audit tail, that also carries policy
    // reads, reconciliation and the heartbeat; and one pooled connection (released when idle)
    // for audit batches and everything else. Whoever needs the pool while a batch is being
    // written waits for it: those are background tasks, never the handshake path.
    const pool = createPool(options.databaseUrl, {
      max: 1,
      applicationName: `origingate-gateway-${this.id}`.slice(0, 63),
      idleTimeoutMillis: 10_000,
    });
    const listener = new PgListener({
      connectionString: options.databaseUrl,
      applicationName: `origingate-listen-${this.id}`.slice(0, 63),
      logger: logger.child({ component: "pg-listener" }),
    });
    const metrics = createMetrics();
    const { retentionDays, summaryIntervalMs: _summaryIntervalMs, ...pipelineOptions } = options.audit ?? {};
    const audit = new AuditPipeline({
      pool,
      gatewayId: this.id,
      logger: logger.child({ component: "audit" }),
      metrics,
      ...pipelineOptions,
    });
    this.summary = new AuditSummaryKeeper({
      pool,
      logger: logger.child({ component: "audit-summary" }),
      intervalMs: options.audit?.summaryIntervalMs,
    });
    this.siem = new SiemExporter(audit, {
      pool,
      gatewayId: this.id,
      logger: logger.child({ component: "siem" }),
      metrics,
      secrets: options.secrets ?? null,
      ...options.siem,
    });
    // Partitions ahead and retention: every gateway tries; one at a time does it (advisory lock).
    this.partitions =
      retentionDays == null
        ? null
        : new AuditPartitionKeeper({ pool, retentionDays, logger: logger.child({ component: "audit-partitions" }) });
    this.alerts =
      options.alerts === false
        ? null
        : new AlertKeeper({
            pool,
            logger: logger.child({ component: "alerts" }),
            secrets: options.secrets ?? null,
            ...options.alerts,
          });
    const store = new PolicyStore({
      pool,
      listener,
      connectionString: options.databaseUrl,
      gatewayId: this.id,
      logger: logger.child({ component: "policy-store" }),
      reconcileIntervalMs: options.reconcileIntervalMs ?? 3000,
      labels: options.labels ?? [],
      secrets: options.secrets ?? null,
      snapshot:
        options.secrets && options.snapshotPath ? new PolicySnapshotFile(options.snapshotPath, options.secrets) : null,
    });
    const connections = new ConnectionRegistry(
      metrics,
      audit,
      logger.child({ component: "relay" }),
      (tenant, remoteAddr) => {
        const runtime = store.get(tenant);
        return runtime ? choosePolicy(runtime.active, runtime.staged, remoteAddr).enforced : null;
      },
    );
    // SPEC §4.5: whatever changed the enforced policy, open connections are judged again.
    store.on("applied", (slug, runtime) => {
      if (runtime) metrics.policyVersion.set({ tenant: slug }, runtime.version);
      else {
        metrics.policyVersion.remove({ tenant: slug });
        this.ctx.rateLimits.forget(slug); // a removed tenant's per-address counters go with it
      }
      connections.reevaluate(
        slug,
        runtime && runtime.staged !== null
          ? (remoteAddr) => choosePolicy(runtime.active, runtime.staged, remoteAddr).enforced
          : (runtime?.compiled ?? null),
      );
    });
    store.on("reload", (slug, runtime, latencyMs) => {
      metrics.policyReloads.inc({ tenant: slug });
      metrics.policyReloadSeconds.observe(latencyMs / 1000);
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
      upgrades: new UpgradeServers(),
      connections,
      rateLimits: new RateLimits(options.rateLimits),
      audit,
      guard: new RolloutGuard({ pool, gatewayId: this.id, logger: logger.child({ component: "rollout-guard" }) }),
      trustProxy: options.trustProxy ?? TRUST_NONE,
      httpLimits: {
        maxBodyBytes: options.http?.maxBodyBytes ?? DEFAULT_HTTP_MAX_BODY_BYTES,
        upstreamTimeoutMs: options.http?.upstreamTimeoutMs ?? DEFAULT_HTTP_UPSTREAM_TIMEOUT_MS,
      },
      stopping: false,
      adminKey: null,
    };
    metrics.observe({
      rateLimitSizes: () => this.ctx.rateLimits.sizes(),
      connectionAddressCounters: () => this.ctx.connections.addressCounters,
      auditFoldKeys: () => ({ keys: audit.foldKeys, maxKeys: MAX_FOLD_KEYS }),
    });
    this.tail = new AuditTail(pool, listener, this.id, logger.child({ component: "audit-tail" }));
    this.stream = new StreamHub({
      tail: this.tail,
      pool,
      logger: logger.child({ component: "admin-stream" }),
      dashboardOrigin: new URL(options.dashboardUrl).origin,
      adminKey: () => this.ctx.adminKey,
      ...options.adminStream,
    });
    this.instance = new InstanceRecorder({
      db: listener.orElse(pool),
      gatewayId: this.id,
      intervalMs: options.heartbeatIntervalMs ?? 5000,
      logger,
      labels: options.labels ?? [],
      snapshot: () => ({
        enforcedVersions: store.enforcedVersions(),
        stagedVersions: store.stagedVersions(),
        status: store.health().status,
        auditStatus: audit.health().status,
      }),
    });
    const publicRoutes: HttpRoute[] = [
      ...(options.admin ? [] : this.healthRoutes("public")),
      {
        path: TESTER_PATH_PREFIX,
        methods: "any",
        handle: (req, res) => handleTesterHttp(this.ctx, req, res, this.server.address() as AddressInfo),
      },
      // Plain HTTP to a tenant: proxied with the CORS decision (or 426 without an upstream).
      { path: "/t/", methods: "any", handle: (req, res) => this.handleTenantRequest(req, res) },
      // Forward auth: proxies' authorization subrequests, any method.
      { path: AUTHZ_PREFIX, methods: "any", handle: (req, res) => sendReply(res, answerForwardAuth(this.ctx, req)) },
    ];
    this.server = this.createListener(publicRoutes);
    this.server.on("upgrade", (req, socket, head) => this.handleUpgrade(req, socket, head));
    this.adminServer = options.admin ? this.createListener(this.healthRoutes("internal")) : null;
    // The admin listener serves no WebSocket endpoint.
    this.adminServer?.on("upgrade", (_req, socket: Duplex) => {
      socket.on("error", () => socket.destroy());
      abortHandshake(socket, 404, "bad_handshake", "no WebSocket endpoint on the admin listener");
    });
  }

  /** An HTTP server with the gateway's limits, answering plain requests from `routes`. */
  private createListener(routes: readonly HttpRoute[]): http.Server {
    const server = http.createServer(
      {
        maxHeaderSize: this.options.maxHeaderBytes ?? 16_384,
        // A request without Host is still a 400, answered by routeRequest with its reason.
        requireHostHeader: false,
        headersTimeout: this.options.handshakeTimeoutMs ?? 10_000,
        requestTimeout: 30_000,
        // How often Node checks those timeouts (default 30 s would let slow heads linger).
        connectionsCheckingInterval: Math.min(1000, this.options.handshakeTimeoutMs ?? 10_000),
      },
      (req, res) => void routeRequest(routes, req, res, this.ctx.logger),
    );
    // Oversized or malformed request heads: answer with a status, never hang.
    server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      abortHandshake(socket, status, "bad_handshake", `${error.code ?? "bad request"}`);
    });
    return server;
  }

  private healthRoutes(exposure: Exposure): HttpRoute[] {
    return healthRoutes(
      {
        gatewayId: this.id,
        startedAt: this.startedAt,
        store: this.ctx.store,
        audit: this.ctx.audit,
        siem: this.siem,
        metrics: this.ctx.metrics,
        openConnections: () => this.ctx.connections.size,
        stopping: () => this.ctx.stopping,
      },
      exposure,
    );
  }

  /**
   * Listens on `port` (0 = any), and on the admin listener's port when there is one, and
   * starts loading policies in the background.
   */
  async start(port: number): Promise<AddressInfo> {
    await listen(this.server, port, this.options.host ?? "0.0.0.0");
    if (this.adminServer && this.options.admin) {
      try {
        await listen(this.adminServer, this.options.admin.port, this.options.admin.host ?? "127.0.0.1");
      } catch (error) {
        this.server.close();
        throw error;
      }
      this.ctx.logger.info({ port: this.adminPort }, "admin listener listening");
    }
    this.storeStart = this.ctx.store.start().then(() => this.instance.beat());
    this.adminStart = this.startAdmin();
    void this.instance.start();
    this.partitions?.start();
    this.summary.start();
    this.siem.start();
    this.alerts?.start();
    const address = this.server.address() as AddressInfo;
    this.ctx.logger.info({ port: address.port }, "gateway listening");
    return address;
  }

  /** Loads the admin-token key and starts the audit tail, retrying while Postgres is away. */
  private async startAdmin(): Promise<void> {
    for (let attempt = 0; !this.ctx.stopping; attempt++) {
      try {
        this.ctx.adminKey = await getOrCreateSecretSetting(
          this.ctx.pool,
          SETTING_ADMIN_TOKEN_KEY,
          this.options.secrets ?? null,
        );
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

  /** The admin listener's port, or null without one. */
  get adminPort(): number | null {
    const address = this.adminServer?.address();
    return address && typeof address === "object" ? address.port : null;
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
    await this.siem.stop();
    await this.summary.stop();
    await this.partitions?.stop();
    await this.alerts?.stop();
    await this.tail.stop();
    await this.ctx.store.stop();
    await this.instance.stop();
    await this.ctx.pool.end().catch(() => {});
    if (this.adminServer) {
      const adminClosed = new Promise<void>((resolve) => this.adminServer?.close(() => resolve()));
      this.adminServer.closeAllConnections();
      await adminClosed;
    }
    this.ctx.logger.info("gateway stopped");
  }

  private handleTenantRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const match = TENANT_PATH.exec(req.url ?? "/");
    handleTenantHttp(this.ctx, req, res, decodeSlug(match?.[1] ?? ""), match?.[2] ?? "");
  }

  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = req.url ?? "/";
    if (url.startsWith(AUTHZ_PREFIX)) {
      // A forward-auth subrequest that carries upgrade headers (Caddy's does): plain HTTP.
      sendReplyOnSocket(socket, answerForwardAuth(this.ctx, req));
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
    // Not a tenant endpoint at all: a bad handshake target, not an unknown tenant (404).
    abortHandshake(socket, 404, "bad_handshake", "no such endpoint");
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function decodeSlug(raw: string): string {
  if (!raw.includes("%")) return raw; // nothing to decode (the common case)
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
