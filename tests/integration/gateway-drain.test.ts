/**
 * Graceful drain (issue 12 item 10), with a real gateway, real clients and Postgres: on
 * stop(), every open connection is closed with 1001 (going away), and the audit events of
 * those closes reach Postgres in the final flush — the flush interval is set far beyond the
 * test, so nothing but stop()'s flush can have written them.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTenant, query } from "../helpers/fixtures";
import { closed, handshake, startGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";

describe("graceful drain", () => {
  it("closes open connections with 1001 and writes their close events before it returns", async () => {
    const db = await createTestDatabase("drain");
    const tenant = await createTenant(db, { policy: { origins: [ORIGIN] } });
    const gw = await startGateway(db, { audit: { flushMs: 600_000 }, drainTimeoutMs: 10_000 });
    const paths = Array.from({ length: 5 }, () => `/drain-${randomBytes(4).toString("hex")}`);
    const clients = await Promise.all(
      paths.map(async (p) => {
        const o = await handshake(`${gw.wsUrl}/t/${tenant.slug}${p}`, { origin: ORIGIN });
        expect(o.status).toBe(101);
        return o.ws!;
      }),
    );
    const closes = clients.map((ws) => closed(ws));
    // Nothing written yet: the flush interval has not come round.
    expect(
      await query<{ n: number }>(db, "select count(*)::int as n from audit_event where tenant = $1", [tenant.slug]),
    ).toEqual([{ n: 0 }]);

    await gw.stop();

    expect((await Promise.all(closes)).map((c) => c.code)).toEqual(paths.map(() => 1001));
    const rows = await query<{ kind: string; path: string; close_code: number | null }>(
      db,
      "select kind::text, path, close_code from audit_event where tenant = $1 order by kind, path",
      [tenant.slug],
    );
    const sorted = [...paths].sort();
    expect(rows).toEqual([
      ...sorted.map((path) => ({ kind: "close", path, close_code: 1001 })),
      ...sorted.map((path) => ({ kind: "handshake", path, close_code: null })),
    ]);
  });
});
