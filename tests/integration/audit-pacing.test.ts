/**
 * The audit pipeline's batch pacing (issue 15 item 1, server/audit/pipeline.ts
 * `writeBatches`/`due`): under a steady stream of rows that never fills a batch, rows
 * queued while a batch is being written wait for their own FLUSH_MS instead of following
 * at once. Otherwise every write's round trip starts the next one, and a trickle of
 * handshakes costs one COPY per round trip (bench:handshake saw ~50 batches/s at 200
 * handshakes/s) instead of one per FLUSH_MS.
 *
 * The bound is logical, not a timing: a batch that is not full starts only once its
 * oldest row has waited FLUSH_MS, and that row was queued after the previous batch
 * started, so batch starts are at least FLUSH_MS apart and a run of `elapsed` ms holds at
 * most elapsed / FLUSH_MS + 1 batches. A slow machine only makes batches fewer.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../../server/admin/metrics";
import { AuditPipeline } from "../../server/audit/pipeline";
import type { AuditEventInput } from "../../server/audit/types";
import { createPool } from "../../server/db/pool";
import { createLogger } from "../../server/log";
import { query } from "../helpers/fixtures";
import { createTestDatabase } from "../helpers/test-db";

const FLUSH_MS = 200;
const RUN_MS = 2_000;

let db: string;

beforeAll(async () => {
  db = await createTestDatabase("auditpacing");
});

function accepted(i: number): AuditEventInput {
  return {
    ts: Date.now(),
    kind: "handshake",
    tenant: "pacing",
    decision: "accepted",
    reason: "origin_allowed",
    origin: "https://app.example.com",
    originNormalized: "https://app.example.com",
    remoteAddr: "127.0.0.1",
    userAgent: `trickle ${i}`,
    path: "/",
    subprotocol: null,
    policyVersion: 1,
    matchedPattern: "https://app.example.com",
  };
}

describe("audit batch pacing", () => {
  it("a steady trickle is written as one batch per FLUSH_MS, not one per round trip, and every row arrives", async () => {
    const pool = createPool(db, { max: 2 });
    const pipeline = new AuditPipeline({
      pool,
      gatewayId: "gw-pacing",
      logger: createLogger({ name: "t", level: "silent" }),
      metrics: createMetrics(),
      flushMs: FLUSH_MS,
    });
    let batches = 0;
    const started = Date.now();
    pipeline.onCommitted(() => {
      batches++;
    });

    // Rows arrive faster than a COPY round trip, so one is always queued during a write.
    let recorded = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < 3; i++) pipeline.record(accepted(recorded++));
        if (Date.now() - started >= RUN_MS) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    const elapsed = Date.now() - started;
    const batchesWhileRunning = batches;
    await pipeline.stop(10_000);
    await pool.end();

    const rows = await query<{ n: number }>(db, "select count(*)::int as n from audit_event where tenant = 'pacing'");
    expect(rows[0]!.n).toBe(recorded);
    expect(recorded).toBeGreaterThan(100);
    expect(batchesWhileRunning).toBeGreaterThan(0);
    expect(batchesWhileRunning).toBeLessThanOrEqual(Math.floor(elapsed / FLUSH_MS) + 1);
  }, 60_000);
});
