/**
 * `/healthz`, `/readyz` and `/metrics` of one gateway (SPEC §5), as HTTP routes for the
 * listener that serves them: the public port, or the admin listener when `ADMIN_PORT` is set.
 *
 * `/healthz` always answers 200 (a degraded gateway is alive and enforcing) with
 *   { status: "ok" | "degraded" | "starting", policySource: "postgres" | "snapshot",
 *     audit: { status: "ok" | "stalled" | "dropping", queueDepth, oldestPendingMs },
 *     gatewayId, uptimeSeconds, connections, policy: { status, listening, policyAgeSeconds } }
 * `starting` until the policies are loaded; then `degraded` while Postgres is away (the
 * policy store says so) or the audit pipeline is not `ok` (server/audit/pipeline.ts defines
 * `stalled` and `dropping`); else `ok`.
 * `/readyz` answers 200 once the policies are loaded and until stop() begins, else 503.
 *
 * Exposure: on the public port (`public`) nothing internal is shown — no database error
 * text, no tenant count, no slug. On the admin listener (`internal`) `/healthz` adds
 * `policy.lastError`, `policy.tenants`, the audit pipeline's last error and totals, and
 * `/readyz` the tenant count. `/metrics` carries per-tenant series (slugs as labels), which
 * is why a deployment that exposes the gateway puts it on the admin listener.
 */
import type http from "node:http";
import type { AuditPipeline } from "../audit/pipeline";
import type { HttpRoute } from "../gateway/http-routes";
import type { PolicyStore } from "../policy-store/policy-store";
import type { Metrics } from "./metrics";

export type Exposure = "public" | "internal";

/** What the health routes read; nothing else of the gateway. */
export interface HealthSources {
  gatewayId: string;
  startedAt: number;
  store: Pick<PolicyStore, "health" | "ready" | "policyAgeSeconds">;
  audit: Pick<AuditPipeline, "health" | "healthDetail">;
  metrics: Metrics;
  openConnections(): number;
  stopping(): boolean;
}

const READ = ["GET", "HEAD"] as const;
const JSON_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store" };

export function healthRoutes(sources: HealthSources, exposure: Exposure): HttpRoute[] {
  return [
    { path: "/healthz", methods: READ, handle: (_req, res) => sendJson(res, 200, healthBody(sources, exposure)) },
    {
      path: "/readyz",
      methods: READ,
      handle: (_req, res) => {
        const ready = sources.store.ready && !sources.stopping();
        const body = exposure === "internal" ? { ready, tenants: sources.store.health().tenants } : { ready };
        sendJson(res, ready ? 200 : 503, body);
      },
    },
    { path: "/metrics", methods: READ, handle: (_req, res) => sendMetrics(sources, res) },
  ];
}

/** The `/healthz` body (see the module header). */
export function healthBody(sources: HealthSources, exposure: Exposure, now = Date.now()) {
  const policy = sources.store.health();
  const audit = exposure === "internal" ? sources.audit.healthDetail(now) : sources.audit.health(now);
  const status =
    policy.status === "starting"
      ? "starting"
      : policy.status === "degraded" || audit.status !== "ok"
        ? "degraded"
        : "ok";
  return {
    status,
    policySource: policy.policySource,
    audit,
    gatewayId: sources.gatewayId,
    uptimeSeconds: Math.round((now - sources.startedAt) / 1000),
    connections: sources.openConnections(),
    policy: {
      status: policy.status,
      listening: policy.listening,
      policyAgeSeconds: policy.policyAgeSeconds,
      ...(policy.snapshot ? { snapshot: policy.snapshot } : {}),
      ...(exposure === "internal" ? { tenants: policy.tenants, lastError: policy.lastError } : {}),
    },
  };
}

async function sendMetrics(sources: HealthSources, res: http.ServerResponse): Promise<void> {
  const { metrics } = sources;
  const audit = sources.audit.health();
  metrics.policyAge.set(sources.store.policyAgeSeconds());
  metrics.auditQueueDepth.set(audit.queueDepth);
  metrics.auditOldestPending.set(audit.oldestPendingMs / 1000);
  const text = await metrics.registry.metrics();
  res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" });
  res.end(text);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, JSON_HEADERS);
  res.end(JSON.stringify(body));
}
