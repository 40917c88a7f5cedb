/**
 * Prometheus metrics of one gateway (`GET /metrics`). One registry per gateway instance so
 * several gateways can live in one test process.
 *
 * The two metrics touched on every handshake (handshakes by tenant/decision/reason, open
 * connections by tenant) are counted in plain maps by countHandshake() and
 * countOpenConnection(), and copied into prom-client when /metrics is scraped (`collect`):
 * prom-client validates and hashes the label object on every inc(), which is a measurable
 * part of a handshake's cost (bench:handshake), while a scrape comes every few seconds.
 *
 * Label values are bounded (SPEC §5): the `tenant` label is clipped here, whoever counts,
 * and callers label only known tenants (unknown slugs share one label), so an attacker can
 * neither lengthen nor multiply series.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { clip, TEXT_LIMITS } from "../clip";

interface Tally<L> {
  labels: L;
  value: number;
}

/** What the gateway reports about its bounded structures, read at scrape time. */
export interface GatewayStateSource {
  rateLimitSizes(): { unverifiedKeys: number; tenantKeys: number; maxKeys: number };
  connectionAddressCounters(): number;
  /** Open fold windows of the audit pipeline and their bound. */
  auditFoldKeys(): { keys: number; maxKeys: number };
}

export function createMetrics() {
  const registry = new Registry();
  const handshakeTally = new Map<string, Tally<{ tenant: string; decision: string; reason: string }>>();
  const openTally = new Map<string, Tally<{ tenant: string }>>();
  type RequestLabels = { tenant: string; via: string; kind: string; decision: string; reason: string };
  const requestTally = new Map<string, Tally<RequestLabels>>();
  const handshakes = new Counter({
    name: "origingate_handshakes_total",
    help: "WebSocket handshakes by tenant, decision (accepted|rejected|report_only) and reason code",
    labelNames: ["tenant", "decision", "reason"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of handshakeTally.values()) this.inc(t.labels, t.value);
    },
  });
  const openConnections = new Gauge({
    name: "origingate_open_connections",
    help: "Open client WebSocket connections by tenant",
    labelNames: ["tenant"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of openTally.values()) this.set(t.labels, t.value);
    },
  });
  /** One handshake decided (the caller keeps `tenant` to known tenants: bounded series). */
  const countHandshake = (tenantLabel: string, decision: string, reason: string): void => {
    const tenant = clip(tenantLabel, TEXT_LIMITS.tenant) as string;
    const key = `${tenant}\u0000${decision}\u0000${reason}`;
    const tally = handshakeTally.get(key);
    if (tally) tally.value += 1;
    else handshakeTally.set(key, { labels: { tenant, decision, reason }, value: 1 });
  };
  const requests = new Counter({
    name: "origingate_http_requests_total",
    help: "HTTP/SSE requests and forward-auth decisions by tenant, via (gateway|forward_auth|tester), kind (http|preflight|handshake), decision and reason code",
    labelNames: ["tenant", "via", "kind", "decision", "reason"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of requestTally.values()) this.inc(t.labels, t.value);
    },
  });
  /** One HTTP request or forward-auth subrequest decided (tenant kept to known tenants by the caller). */
  const countRequest = (tenant: string, via: string, kind: string, decision: string, reason: string): void => {
    const key = `${tenant}\u0000${via}\u0000${kind}\u0000${decision}\u0000${reason}`;
    const tally = requestTally.get(key);
    if (tally) tally.value += 1;
    else requestTally.set(key, { labels: { tenant, via, kind, decision, reason }, value: 1 });
  };
  /** A client connection of `tenant` opened (+1) or closed (-1). */
  const countOpenConnection = (tenantLabel: string, delta: 1 | -1): void => {
    const tenant = clip(tenantLabel, TEXT_LIMITS.tenant) as string;
    const tally = openTally.get(tenant);
    if (tally) tally.value += delta;
    else openTally.set(tenant, { labels: { tenant }, value: delta });
  };
  /** Where the gateway's bounded structures are read at scrape time (set once by the gateway). */
  let state: GatewayStateSource | null = null;
  const rateLimiterKeys = new Gauge({
    name: "origingate_rate_limiter_keys",
    help: "Address counters held by the handshake rate limiters (limiter: unverified = unknown slugs and malformed handshakes, tenant = per-tenant budgets); each stays at or below origingate_rate_limiter_max_keys",
    labelNames: ["limiter"] as const,
    registers: [registry],
    collect() {
      if (!state) return;
      const sizes = state.rateLimitSizes();
      this.set({ limiter: "unverified" }, sizes.unverifiedKeys);
      this.set({ limiter: "tenant" }, sizes.tenantKeys);
    },
  });
  const rateLimiterMaxKeys = new Gauge({
    name: "origingate_rate_limiter_max_keys",
    help: "Bound on the address counters of each handshake rate limiter",
    registers: [registry],
    collect() {
      if (state) this.set(state.rateLimitSizes().maxKeys);
    },
  });
  const connectionAddressCounters = new Gauge({
    name: "origingate_connection_address_counters",
    help: "Per-(tenant, client address) connection counters (maxConnectionsPerIp); never more than the reserved connection slots",
    registers: [registry],
    collect() {
      if (state) this.set(state.connectionAddressCounters());
    },
  });
  const auditFoldKeys = new Gauge({
    name: "origingate_audit_fold_keys",
    help: "Open fold windows of the audit pipeline (identical rejections being counted into one row); at most origingate_audit_fold_max_keys",
    registers: [registry],
    collect() {
      if (state) this.set(state.auditFoldKeys().keys);
    },
  });
  const auditFoldMaxKeys = new Gauge({
    name: "origingate_audit_fold_max_keys",
    help: "Bound on the audit pipeline's open fold windows",
    registers: [registry],
    collect() {
      if (state) this.set(state.auditFoldKeys().maxKeys);
    },
  });
  /** Reports the gateway's bounded structures at every scrape. */
  const observe = (source: GatewayStateSource): void => {
    state = source;
  };
  const revocations = new Counter({
    name: "origingate_connections_revoked_total",
    help: "Open connections closed by the gateway (1008) because the policy changed or the token expired, by tenant and reason",
    labelNames: ["tenant", "reason"] as const,
    registers: [registry],
  });
  /** An open connection closed for the policy (policy_revoked) or its token (token_expired). */
  const countRevocation = (tenant: string, reason: string): void => revocations.inc({ tenant, reason });
  const policyReloads = new Counter({
    name: "origingate_policy_reloads_total",
    help: "Policy (re)loads applied, by tenant",
    labelNames: ["tenant"] as const,
    registers: [registry],
  });
  const policyReloadSeconds = new Histogram({
    name: "origingate_policy_reload_seconds",
    help: "Time to read a changed policy from Postgres",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const policyAge = new Gauge({
    name: "origingate_policy_age_seconds",
    help: "Seconds since the enforced policies were last confirmed current against Postgres",
    registers: [registry],
  });
  const policyVersion = new Gauge({
    name: "origingate_policy_version",
    help: "Policy version enforced, by tenant",
    labelNames: ["tenant"] as const,
    registers: [registry],
  });
  const auditQueueDepth = new Gauge({
    name: "origingate_audit_queue_depth",
    help: "Audit events waiting in memory to be written to Postgres",
    registers: [registry],
  });
  const auditWritten = new Counter({
    name: "origingate_audit_events_written_total",
    help: "Audit events written to Postgres (folded repeats counted individually)",
    registers: [registry],
  });
  const auditDropped = new Counter({
    name: "origingate_audit_events_dropped_total",
    help: "Audit events dropped: the in-memory buffer was full (Postgres down too long), or Postgres refused the row even clipped",
    registers: [registry],
  });
  const auditRowsRefused = new Counter({
    name: "origingate_audit_rows_refused_total",
    help: "Audit rows Postgres refused on their own (after a refused batch was split): stored clipped, or dropped",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const auditOldestPending = new Gauge({
    name: "origingate_audit_oldest_pending_seconds",
    help: "How long the oldest audit row waiting to be written has waited (0 when none is)",
    registers: [registry],
  });
  const auditRows = new Counter({
    name: "origingate_audit_rows_written_total",
    help: "Audit rows written to Postgres (after folding)",
    registers: [registry],
  });
  // SIEM export (server/siem/): per destination; the label is the destination's name, which an
  // admin chose (at most MAX_SIEM_DESTINATIONS of them): bounded series.
  const siemExported = new Counter({
    name: "origingate_siem_events_exported_total",
    help: "Audit events delivered to a SIEM destination (syslog: accepted by the TCP peer and not resent; webhook: answered 2xx)",
    labelNames: ["destination"] as const,
    registers: [registry],
  });
  const siemDropped = new Counter({
    name: "origingate_siem_events_dropped_total",
    help: "Audit events not exported to a SIEM destination because its bounded buffer was full (the destination gets a gap notice with the number)",
    labelNames: ["destination"] as const,
    registers: [registry],
  });
  const siemResent = new Counter({
    name: "origingate_siem_events_resent_total",
    help: "Audit events sent again to a syslog destination after its connection broke (at-least-once: the receiver may see them twice, same MSGID)",
    labelNames: ["destination"] as const,
    registers: [registry],
  });
  const siemQueueDepth = new Gauge({
    name: "origingate_siem_queue_depth",
    help: "Audit events waiting in memory for a SIEM destination",
    labelNames: ["destination"] as const,
    registers: [registry],
  });
  return {
    registry,
    handshakes,
    countHandshake,
    requests,
    countRequest,
    openConnections,
    countOpenConnection,
    rateLimiterKeys,
    rateLimiterMaxKeys,
    connectionAddressCounters,
    auditFoldKeys,
    auditFoldMaxKeys,
    observe,
    revocations,
    countRevocation,
    policyReloads,
    policyReloadSeconds,
    policyAge,
    policyVersion,
    auditQueueDepth,
    auditWritten,
    auditDropped,
    auditRows,
    auditRowsRefused,
    auditOldestPending,
    siemExported,
    siemDropped,
    siemResent,
    siemQueueDepth,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
