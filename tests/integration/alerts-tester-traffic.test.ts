/**
 * Alerts leave tester traffic out (SPEC §6: "left out of statistics, top lists and alerts by
 * default"): a real handshake scan and a real CORS scan of a tenant — hundreds of refusals,
 * every origin new — open no rejection spike and no "newly refused origin" alert, while the
 * same rules still fire for a real client's refusals right after (so the rules are live).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRuleInput } from "../../app/_lib/alerts/alert-input";
import { createAlertRule } from "../../app/_lib/alerts/alert-rules";
import { evaluateAlerts } from "../../server/alerts/evaluate-alerts";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import type { CorsScanResponse, ScanResponse } from "../../server/tester/types";
import { createTenant, type TenantFixture } from "../helpers/fixtures";
import { handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { startUpstream, type Upstream } from "../helpers/upstreams";
import { callTester, flushAudit } from "./tester-helpers";

const actor = { id: null, label: "test", kind: "system" as const };
const REAL = "https://real-spike.example.net";

let db: string;
let prisma: PrismaClient;
let pool: pg.Pool;
let upstream: Upstream;
let tenant: TenantFixture;
let gw: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase("alerts_tester");
  prisma = createPrisma(db);
  pool = new pg.Pool({ connectionString: db, max: 3 });
  upstream = await startUpstream();
  tenant = await createTenant(db, {
    // An upstream, so the CORS scan's requests are decided (without one: 426, nothing audited).
    upstreamUrl: upstream.wsUrl,
    policy: { origins: ["https://app.example.com", "https://*.example.org"] },
  });
  for (const body of [
    { name: "spike", kind: "rejection_spike", tenant: tenant.slug, params: { windowMinutes: 5, minCount: 6 } },
    { name: "new origins", kind: "new_rejected_origin", tenant: tenant.slug, params: { minCount: 1 } },
  ]) {
    await createAlertRule({ db: prisma, input: alertRuleInput.parse(body), actor });
  }
  // No background evaluator: the test runs the passes itself.
  gw = await startGateway(db, { alerts: false, audit: { flushMs: 20 } });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await pool?.end();
  await prisma?.$disconnect();
});

async function openAlerts(): Promise<Array<{ kind: string; key: string }>> {
  const { rows } = await pool.query<{ kind: string; key: string }>(
    "select kind::text as kind, key from alert where resolved_at is null order by kind, key",
  );
  return rows;
}

describe("alerts and tester traffic", () => {
  it("a handshake scan and a CORS scan raise no spike and no new-origin alert; a real client's refusals do", async () => {
    const scan = await callTester<ScanResponse>(gw, "scan", { tenant: tenant.slug });
    expect(scan.status).toBe(200);
    const corsScan = await callTester<CorsScanResponse>(gw, "cors-scan", { tenant: tenant.slug, path: "/x" });
    expect(corsScan.status).toBe(200);
    await flushAudit(gw);

    // The scans left plenty of refusals of never-seen origins, enough for both rules.
    const { rows } = await pool.query<{ kind: string; n: string; origins: string }>(
      `select kind::text as kind, sum(count)::text as n, count(distinct origin)::text as origins from audit_event
        where tenant = $1 and via = 'tester' and decision = 'rejected' group by 1 order by 1`,
      [tenant.slug],
    );
    const rejectedBy = Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
    expect(rejectedBy.handshake).toBeGreaterThanOrEqual(6);
    expect(rejectedBy.http).toBeGreaterThanOrEqual(6);
    expect(rejectedBy.preflight).toBeGreaterThanOrEqual(1);

    const pass = await evaluateAlerts({ pool });
    expect(pass).toMatchObject({ ran: true, errors: [] });
    expect(await openAlerts()).toEqual([]);
    expect(pass.opened).toBe(0);

    // A real client's burst of refusals: the same rules fire, for it alone.
    for (let i = 0; i < 8; i++) {
      expect((await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: REAL })).status).toBe(403);
    }
    await flushAudit(gw);
    const after = await evaluateAlerts({ pool });
    expect(after).toMatchObject({ ran: true, errors: [], opened: 2 });
    expect(await openAlerts()).toEqual([
      { kind: "new_rejected_origin", key: `origin:${tenant.slug}:${REAL}` },
      { kind: "rejection_spike", key: `spike:${tenant.slug}` },
    ]);
    const { rows: spike } = await pool.query<{ details: { current: number } }>(
      "select details from alert where kind = 'rejection_spike'",
    );
    // The spike counts the real refusals only, not the scans'.
    expect(spike[0]?.details.current).toBe(8);
  }, 60_000);
});
