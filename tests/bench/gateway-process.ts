/**
 * A gateway as its own process for the benchmarks: the same Gateway class and options as
 * server/main.ts (audit pipeline on, policy store listening), plus an IPC channel so the
 * bench can ask for memory after GC, CPU time and audit totals.
 *
 * Env: DATABASE_URL, GATEWAY_ID, LOG_LEVEL (default warn), RECONCILE_INTERVAL_MS, TRUST_PROXY,
 * AUDIT_FLUSH_MS;
 * BENCH_REPORT_APPLIED=1 sends {type: "applied", slug, version, at} (epoch ms) on every
 * policy the store starts enforcing (bench:fleet).
 * BENCH_DIAG (diagnosis only, never a reported goal figure): "no-audit-db" keeps the audit
 * pipeline in the process but skips its Postgres writes; "no-audit" turns record() into a
 * no-op. They tell how much of the gateway's cost is the audit trail.
 * Sends {type: "ready", port} once policies are loaded; stops on SIGTERM (graceful).
 */
import { writeHeapSnapshot } from "node:v8";
import { Gateway } from "../../server/gateway/gateway";
import { createLogger } from "../../server/log";
import { parseTrustProxy } from "../../server/net/client-address";
import { memoryAfterGc, serveRequests } from "./kit";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("DATABASE_URL must be set");

const gateway = new Gateway({
  databaseUrl,
  logger: createLogger({ name: "bench-gateway", level: process.env.LOG_LEVEL ?? "warn" }),
  gatewayId: process.env.GATEWAY_ID,
  host: "127.0.0.1",
  reconcileIntervalMs: Number(process.env.RECONCILE_INTERVAL_MS ?? 3000),
  dashboardUrl: "http://localhost:3000",
  trustProxy: parseTrustProxy(process.env.TRUST_PROXY),
  audit: process.env.AUDIT_FLUSH_MS ? { flushMs: Number(process.env.AUDIT_FLUSH_MS) } : undefined,
});

const diag = process.env.BENCH_DIAG;
if (diag === "no-audit") gateway.ctx.audit.record = () => {};
if (diag === "no-audit-db") {
  (gateway.ctx.audit as unknown as { insert: () => Promise<{ ok: true }> }).insert = async () => ({ ok: true });
}

// bench:fleet: when a policy version starts being enforced here (wall clock, sub-ms), so
// commit-to-enforcement is measured per gateway without probing 30 gateways with handshakes.
if (process.env.BENCH_REPORT_APPLIED) {
  gateway.ctx.store.on("applied", (slug, runtime) => {
    process.send?.({
      type: "applied",
      slug,
      version: runtime?.version ?? null,
      at: performance.timeOrigin + performance.now(),
    });
  });
}

const { port } = await gateway.start(0);
await gateway.ready();

serveRequests({
  memory: () => memoryAfterGc(),
  /** Diagnosis: writes a heap snapshot into `dir`. */
  heapSnapshot: (m) => ({ file: writeHeapSnapshot(`${m.dir}/gateway-${Date.now()}.heapsnapshot`) }),
  /** Resolves once the audit queue is empty (events of the handshakes so far written). */
  auditIdle: async () => {
    while (gateway.ctx.audit.depth > 0) await new Promise((r) => setTimeout(r, 50));
    return { audit: { ...gateway.ctx.audit.totals } };
  },
  stats: () => ({
    cpu: process.cpuUsage(),
    audit: { ...gateway.ctx.audit.totals, depth: gateway.ctx.audit.depth },
    connections: gateway.ctx.connections.size,
    /** Connection slots held, over every tenant, and per-address counters (bench:soak: leaks). */
    slots: [...gateway.ctx.store.tenants()].reduce((n, t) => n + gateway.ctx.connections.count(t.slug), 0),
    addressCounters: gateway.ctx.connections.addressCounters,
  }),
  /** Writes everything the audit pipeline holds (open fold windows included). */
  flushAudit: async () => {
    // flush(true) joins a batch already being written without closing the fold windows:
    // repeat until every recorded event is written (or dropped), bounded.
    const audit = gateway.ctx.audit;
    for (let i = 0; i < 100; i++) {
      await audit.flush(true);
      if (audit.depth === 0 && audit.totals.written + audit.totals.dropped >= audit.totals.recorded) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { audit: { ...gateway.ctx.audit.totals, depth: gateway.ctx.audit.depth } };
  },
});

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  gateway.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

process.send?.({ type: "ready", port });
