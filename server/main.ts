/**
 * Gateway process entry point (`npm run gateway`; `npm start` runs one too).
 * Configuration from the environment (server/config.ts); stops gracefully on SIGINT/SIGTERM.
 */
import path from "node:path";
import { loadConfigOrExit } from "./config";
import { DATA_DIR } from "./data-dir";
import { Gateway } from "./gateway/gateway";
import { createLogger } from "./log";
import { secretBoxFromConfig } from "./secrets/secrets-key";

const config = loadConfigOrExit();
const logger = createLogger({ name: "gateway", level: config.LOG_LEVEL });
if (!config.DATABASE_URL) {
  console.error("Invalid configuration: DATABASE_URL must be set for `npm run gateway` (`npm start` sets it itself).");
  process.exit(2);
}

const secrets = secretBoxFromConfig(config);
if (!secrets) {
  logger.warn(
    "SECRETS_KEY is not set: no policy snapshot is kept (restarted during a Postgres outage, this gateway refuses everything until Postgres returns) and encrypted token secrets cannot be read",
  );
}

const gateway = new Gateway({
  databaseUrl: config.DATABASE_URL,
  logger,
  gatewayId: config.GATEWAY_ID,
  labels: config.GATEWAY_LABELS,
  host: config.GATEWAY_HOST,
  reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
  heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
  handshakeTimeoutMs: config.HANDSHAKE_TIMEOUT_MS,
  maxHeaderBytes: config.MAX_HEADER_BYTES,
  trustProxy: config.TRUST_PROXY,
  rateLimits: { unknownTenantPerMinute: config.UNKNOWN_TENANT_RATE_PER_MIN },
  dashboardUrl: config.dashboardUrl,
  http: { maxBodyBytes: config.HTTP_MAX_BODY_BYTES, upstreamTimeoutMs: config.HTTP_UPSTREAM_TIMEOUT_MS },
  adminStream: { maxPerPrincipal: config.ADMIN_STREAM_MAX_PER_USER, recheckMs: config.ADMIN_STREAM_RECHECK_MS },
  admin: config.admin ?? undefined,
  secrets,
  // One file per gateway id (an unset GATEWAY_ID shares `default`).
  snapshotPath:
    config.POLICY_SNAPSHOT_PATH ?? path.join(DATA_DIR, `policy-snapshot-${config.GATEWAY_ID ?? "default"}.enc`),
  audit: {
    queueMax: config.AUDIT_QUEUE_MAX,
    flushMs: config.AUDIT_FLUSH_MS,
    foldWindowMs: config.AUDIT_FOLD_WINDOW_MS,
    retentionDays: config.AUDIT_RETENTION_DAYS,
  },
  siem: { queueMax: config.SIEM_QUEUE_MAX },
  alerts: config.ALERTS === "off" ? false : { intervalMs: config.ALERT_EVALUATE_INTERVAL_MS },
});

try {
  await gateway.start(config.GATEWAY_PORT);
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  console.error(
    e.code === "EADDRINUSE"
      ? `Port ${(e as { port?: number }).port ?? config.GATEWAY_PORT} is already in use (${
          config.admin && (e as { port?: number }).port === config.admin.port ? "ADMIN_PORT" : "GATEWAY_PORT"
        }). Is another gateway running?`
      : `Gateway failed to start: ${e.message}`,
  );
  process.exit(1);
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: (error as Error).message }, "unclean shutdown");
        process.exit(1);
      },
    );
  });
}
