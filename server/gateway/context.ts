/**
 * What every part of one gateway shares (the handshake path, HTTP proxying, forward auth):
 * its live policies, audit trail, limits and registries. Declared apart from gateway.ts,
 * which builds it, so that the parts depend on this shape and never on the Gateway class
 * (no import cycle; tests/unit/import-graph.test.ts).
 */
import type pg from "pg";
import type { Metrics } from "../admin/metrics";
import type { AuditPipeline } from "../audit/pipeline";
import type { Logger } from "../log";
import type { TrustProxy } from "../net/client-address";
import type { PolicyStore } from "../policy-store/policy-store";
import type { ConnectionRegistry } from "./connections";
import type { RateLimits } from "./limits";
import type { RolloutGuard } from "./rollout-guard";
import type { UpgradeServers } from "./upgrade-servers";

export const DEFAULT_HTTP_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_HTTP_UPSTREAM_TIMEOUT_MS = 30_000;

export interface HttpProxyLimits {
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
}

export interface GatewayContext {
  id: string;
  logger: Logger;
  pool: pg.Pool;
  store: PolicyStore;
  metrics: Metrics;
  /** The ws servers that complete upgrades, one per message size limit (bounded). */
  upgrades: UpgradeServers;
  connections: ConnectionRegistry;
  rateLimits: RateLimits;
  audit: AuditPipeline;
  /** Counts a staged version's new refusals and aborts it past its guard (SPEC §5.2). */
  guard: RolloutGuard;
  trustProxy: TrustProxy;
  /** Request body and upstream timeout bounds of HTTP/SSE proxying. */
  httpLimits: HttpProxyLimits;
  /** True once stop() began: new handshakes are refused. */
  stopping: boolean;
  /** HMAC key of dashboard-minted admin tokens (null until loaded from Postgres). */
  adminKey: string | null;
}
