/**
 * The baseline of the gateway benchmarks: a bare `ws` server as the ws README builds one
 * behind `node:http` (noServer + the `upgrade` event) that accepts every handshake and
 * echoes messages. Same ws options as the gateway (no compression, no client tracking).
 *
 * For a like-for-like refusal figure it refuses exactly one origin (REFUSED_ORIGIN) the
 * way ws's own `verifyClient` does (ws lib/websocket-server.js `abortHandshake`: a 403
 * written on the raw socket, then closed); every other handshake is accepted.
 *
 * (The bench passes the same origin; this file is a process entry, so nothing is exported.)
 * Sends {type: "ready", port}; answers "memory" (after GC, needs --expose-gc) and "stats".
 *
 * With AUDIT_DATABASE_URL set it also keeps the audit trail the SPEC requires of any
 * gateway, and nothing else: every accepted handshake and every close recorded through the
 * gateway's own AuditPipeline (same fields, same batching into Postgres). bench:handshake
 * uses it to show what that requirement alone costs against the bare server.
 */
import http from "node:http";
import { writeHeapSnapshot } from "node:v8";
import { WebSocketServer } from "ws";
import { createMetrics } from "../../server/admin/metrics";
import { AuditPipeline } from "../../server/audit/pipeline";
import type { AuditEventInput } from "../../server/audit/types";
import { createPool } from "../../server/db/pool";
import { createLogger } from "../../server/log";
import { memoryAfterGc, serveRequests } from "./kit";

const REFUSED_ORIGIN = "https://refused.example";

const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
let open = 0;
const auditUrl = process.env.AUDIT_DATABASE_URL;
const audit = auditUrl
  ? new AuditPipeline({
      pool: createPool(auditUrl, { max: 2 }),
      gatewayId: "bare-audit",
      logger: createLogger({ name: "bare-audit", level: "warn" }),
      metrics: createMetrics(),
      // Diagnosis: the batch interval, as the gateway's AUDIT_FLUSH_MS (bench:handshake passes it to both).
      flushMs: process.env.AUDIT_FLUSH_MS ? Number(process.env.AUDIT_FLUSH_MS) : undefined,
    })
  : null;

// Diagnosis (BENCH_DIAG=bare-audit-no-db): keep the pipeline, skip its writes to Postgres.
if (audit && process.env.AUDIT_SKIP_WRITES)
  (audit as unknown as { insert: () => Promise<{ ok: true }> }).insert = async () => ({ ok: true });
/** The fields the gateway records for an accepted handshake (server/gateway/handshake.ts). */
function auditEvent(req: http.IncomingMessage): AuditEventInput {
  return {
    ts: Date.now(),
    kind: "handshake",
    tenant: "bench",
    decision: "accepted",
    reason: "allowed",
    origin: req.headers.origin ?? null,
    originNormalized: req.headers.origin ?? null,
    remoteAddr: req.socket.remoteAddress ?? null,
    userAgent: req.headers["user-agent"] ?? null,
    path: "/live",
    subprotocol: null,
    policyVersion: 1,
    matchedPattern: req.headers.origin ?? null,
  };
}
const server = http.createServer((_req, res) => {
  res.writeHead(404).end();
});
server.on("upgrade", (req, socket, head) => {
  socket.on("error", () => socket.destroy());
  if (req.headers.origin === REFUSED_ORIGIN) {
    socket.once("finish", () => socket.destroy());
    socket.end(
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nForbidden",
    );
    return;
  }
  const event = audit ? auditEvent(req) : null;
  wss.handleUpgrade(req, socket, head, (ws) => {
    open++;
    const openedAt = Date.now();
    if (event) audit?.record(event);
    ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on("error", () => ws.terminate());
    ws.once("close", (code) => {
      open--;
      if (event) {
        audit?.record({ ...event, ts: Date.now(), kind: "close", closeCode: code, durationMs: Date.now() - openedAt });
      }
    });
  });
});

await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;

serveRequests({
  memory: () => memoryAfterGc(),
  /** Diagnosis: writes a heap snapshot into `dir`. */
  heapSnapshot: (m) => ({ file: writeHeapSnapshot(`${m.dir}/bare-${Date.now()}.heapsnapshot`) }),
  stats: () => ({
    cpu: process.cpuUsage(),
    connections: open,
    ...(audit ? { audit: { ...audit.totals, depth: audit.depth } } : {}),
  }),
});
process.on("SIGTERM", () => process.exit(0));
process.send?.({ type: "ready", port });
