/**
 * Gateway process entry point (`npm run gateway`; `npm start` runs one too).
 * Configuration from the environment (server/config.ts); stops gracefully on SIGINT/SIGTERM.
 */
import { loadConfigOrExit } from "./config";
import { Gateway } from "./gateway/gateway";
import { createLogger } from "./log";

const config = loadConfigOrExit();
const logger = createLogger({ name: "gateway", level: config.LOG_LEVEL });
if (!config.DATABASE_URL) {
  console.error("Invalid configuration: DATABASE_URL must be set for `npm run gateway` (`npm start` sets it itself).");
  process.exit(2);
}

const gateway = new Gateway({
  databaseUrl: config.DATABASE_URL,
  logger,
  gatewayId: config.GATEWAY_ID,
  host: config.GATEWAY_HOST,
  reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
  heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
  handshakeTimeoutMs: config.HANDSHAKE_TIMEOUT_MS,
  maxHeaderBytes: config.MAX_HEADER_BYTES,
  trustProxy: config.TRUST_PROXY,
  rateLimits: { unknownTenantPerMinute: config.UNKNOWN_TENANT_RATE_PER_MIN },
  dashboardUrl: config.dashboardUrl,
  http: { maxBodyBytes: config.HTTP_MAX_BODY_BYTES, upstreamTimeoutMs: config.HTTP_UPSTREAM_TIMEOUT_MS },
  admin: config.admin ?? undefined,
  audit: {
    queueMax: config.AUDIT_QUEUE_MAX,
    flushMs: config.AUDIT_FLUSH_MS,
    foldWindowMs: config.AUDIT_FOLD_WINDOW_MS,
  },
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
