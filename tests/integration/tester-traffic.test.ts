/**
 * The tester's own handshakes are tester traffic: a real gateway audits them `via = 'tester'`
 * (only when they carry this process's mark — a client sending the header with any other
 * value is an ordinary handshake), the tester never shows the mark in what it reports, and
 * the overview's statistics and "top rejected" leave them out unless asked to include them.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAuditStats } from "../../app/_lib/audit/get-audit-stats";
import { summarizeAudit } from "../../server/audit/summary";
import { createPool } from "../../server/db/pool";
import { TESTER_MARK_HEADER } from "../../server/gateway/tester-mark";
import type { HandshakeResponse, ScanResponse } from "../../server/tester/types";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { callTester, flushAudit } from "./tester-helpers";

let db: string;
let pool: pg.Pool;
let gw: TestGateway;
let tenant: TenantFixture;

const REAL = "https://real-attacker.example.net";
const FORGED = "https://forged-mark.example.net";
const TESTED = "https://tested-by-tester.example.net";

beforeAll(async () => {
  db = await createTestDatabase("tester_traffic");
  pool = createPool(db, { max: 3 });
  tenant = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
  gw = await startGateway(db, { audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  await pool?.end();
});

describe("tester traffic", () => {
  it("is audited via tester only with the process's own mark, and left out of the statistics by default", async () => {
    // A real client, and one that tries to pass for the tester with a made-up mark.
    expect((await handshake(`${gw.wsUrl}/t/${tenant.slug}/`, { origin: REAL })).status).toBe(403);
    const forged = await handshake(`${gw.wsUrl}/t/${tenant.slug}/`, {
      origin: FORGED,
      headers: { [TESTER_MARK_HEADER]: "guessed-value" },
    });
    expect(forged.status).toBe(403);

    // The tester: one handshake and one scan of the same tenant.
    const single = await callTester<HandshakeResponse>(gw, "handshake", { tenant: tenant.slug, origin: TESTED });
    expect(single.status).toBe(200);
    expect(single.body.status).toBe(403);
    // The mark is sent but never reported (nor its value anywhere in the answer).
    expect(single.body.sent.map(([name]) => name.toLowerCase())).not.toContain(TESTER_MARK_HEADER);
    const scan = await callTester<ScanResponse>(gw, "scan", { tenant: tenant.slug });
    expect(scan.status).toBe(200);
    await flushAudit(gw);

    const rows = await query<{ origin: string | null; via: string; n: string }>(
      db,
      `select origin, via::text as via, sum(count)::text as n from audit_event
        where tenant = $1 and kind = 'handshake' group by 1, 2`,
      [tenant.slug],
    );
    const viaOf = (origin: string) => rows.filter((r) => r.origin === origin).map((r) => r.via);
    expect(viaOf(REAL)).toEqual(["gateway"]);
    expect(viaOf(FORGED)).toEqual(["gateway"]);
    expect(viaOf(TESTED)).toEqual(["tester"]);
    const testerRows = rows.filter((r) => r.via === "tester");
    const testerRejected = await query<{ n: string }>(
      db,
      `select coalesce(sum(count), 0)::text as n from audit_event
        where tenant = $1 and via = 'tester' and decision = 'rejected' and kind = 'handshake'`,
      [tenant.slug],
    );
    // The scan's variants are there too, beyond the single handshake.
    expect(testerRows.length).toBeGreaterThan(1);
    expect(Number(testerRejected[0]?.n)).toBeGreaterThan(1);

    // Half of the events summarized, half read directly: both paths must leave the tester out.
    for (const summarize of [false, true]) {
      if (summarize) await summarizeAudit({ pool });
      for (const window of ["hour", "day"] as const) {
        const without = await getAuditStats({ db: pool, tenant: tenant.slug, window, topLimit: 1000 });
        const withTester = await getAuditStats({
          db: pool,
          tenant: tenant.slug,
          window,
          topLimit: 1000,
          includeTester: true,
        });
        const origins = (stats: typeof without) => stats.topRejected.map((r) => r.origin);
        expect(origins(without)).toEqual(expect.arrayContaining([REAL, FORGED]));
        expect(origins(without)).not.toContain(TESTED);
        expect(origins(withTester)).toContain(TESTED);
        expect(withTester.topRejected.find((r) => r.origin === TESTED)?.reasons).toEqual(["origin_not_allowed"]);
        const rejected = (stats: typeof without) => stats.timeline.reduce((n, b) => n + b.rejected, 0);
        expect(rejected(without)).toBe(2);
        expect(rejected(withTester)).toBe(2 + Number(testerRejected[0]?.n));
      }
    }
  });
});
