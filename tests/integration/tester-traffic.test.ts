/**
 * The tester's own handshakes and CORS requests are tester traffic: a real gateway audits
 * them `via = 'tester'` (only when they carry this process's mark — a client sending the
 * header with any other value is an ordinary request), the tester never shows the mark in
 * what it reports, the upstream never receives it, and the overview's statistics and "top
 * rejected" leave them out unless asked to include them.
 */
import http from "node:http";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAuditStats } from "../../app/_lib/audit/get-audit-stats";
import { summarizeAudit } from "../../server/audit/summary";
import { createPool } from "../../server/db/pool";
import { TESTER_MARK_HEADER } from "../../server/gateway/tester-mark";
import type { CorsScanResponse, CorsTestResponse, HandshakeResponse, ScanResponse } from "../../server/tester/types";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { startUpstream, type Upstream } from "../helpers/upstreams";
import { callTester, flushAudit } from "./tester-helpers";

let db: string;
let pool: pg.Pool;
let gw: TestGateway;
let tenant: TenantFixture;
let proxied: TenantFixture;
let upstream: Upstream;

const REAL = "https://real-attacker.example.net";
const FORGED = "https://forged-mark.example.net";
const TESTED = "https://tested-by-tester.example.net";

beforeAll(async () => {
  db = await createTestDatabase("tester_traffic");
  pool = createPool(db, { max: 3 });
  tenant = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
  upstream = await startUpstream();
  // HTTP needs an upstream: without one the gateway answers 426 and decides nothing.
  proxied = await createTenant(db, { upstreamUrl: upstream.wsUrl, policy: { origins: ["https://app.example.com"] } });
  gw = await startGateway(db, { audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
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

  it("covers the CORS tester's requests the same way: marked only by the tester, never forwarded, out of the statistics", async () => {
    const HTTP_REAL = "https://real-cors-client.example.net";
    const HTTP_FORGED = "https://forged-cors-mark.example.net";
    const HTTP_TESTED = "https://tested-by-cors-tester.example.net";
    // A real client, and one that tries to pass for the tester with a made-up mark.
    expect(await httpStatus(`/t/${proxied.slug}/x`, { Origin: HTTP_REAL })).toBe(403);
    expect(
      await httpStatus(`/t/${proxied.slug}/x`, { Origin: HTTP_FORGED, [TESTER_MARK_HEADER]: "guessed-value" }),
    ).toBe(403);

    // The CORS tester: one refused request, one preflight, and a scan of the same tenant.
    const single = await callTester<CorsTestResponse>(gw, "cors", {
      tenant: proxied.slug,
      path: "/x",
      origin: HTTP_TESTED,
      method: "POST",
    });
    expect(single.status).toBe(200);
    expect(single.body).toMatchObject({ status: 403, reason: "origin_not_allowed" });
    const preflight = await callTester<CorsTestResponse>(gw, "cors", {
      tenant: proxied.slug,
      path: "/x",
      origin: HTTP_TESTED,
      method: "PUT",
      preflight: true,
    });
    expect(preflight.body).toMatchObject({ status: 403, reason: "origin_not_allowed" });
    const scan = await callTester<CorsScanResponse>(gw, "cors-scan", { tenant: proxied.slug, path: "/x" });
    expect(scan.status).toBe(200);
    expect(scan.body.summary.refused).toBeGreaterThan(1);
    // The scan's controls were granted, so they reached the upstream: without the mark.
    expect(scan.body.summary.granted).toBeGreaterThan(0);
    const forwarded = upstream.seen.filter(
      (r) => !r.upgrade && String(r.headers["user-agent"]).startsWith("OriginGate-Tester"),
    );
    expect(forwarded.length).toBeGreaterThan(0);
    for (const r of forwarded) expect(Object.keys(r.headers)).not.toContain(TESTER_MARK_HEADER);
    await flushAudit(gw);

    const rows = await query<{ origin: string | null; kind: string; via: string; tester_ua: boolean }>(
      db,
      `select origin, kind::text as kind, via::text as via, coalesce(user_agent like 'OriginGate-Tester%', false) as tester_ua
         from audit_event where tenant = $1 and kind in ('http', 'preflight')`,
      [proxied.slug],
    );
    const viaOf = (origin: string) => [...new Set(rows.filter((r) => r.origin === origin).map((r) => r.via))];
    expect(viaOf(HTTP_REAL)).toEqual(["gateway"]);
    expect(viaOf(HTTP_FORGED)).toEqual(["gateway"]);
    expect(viaOf(HTTP_TESTED)).toEqual(["tester"]);
    // Every request the tester made (its User-Agent), scan included, and only those, is tester traffic.
    expect(rows.filter((r) => r.tester_ua).length).toBeGreaterThan(scan.body.summary.probes);
    expect(rows.filter((r) => r.tester_ua && r.via !== "tester")).toEqual([]);
    expect(rows.filter((r) => !r.tester_ua && r.via === "tester")).toEqual([]);
    expect(rows.some((r) => r.via === "tester" && r.kind === "preflight")).toBe(true);
    const testerRejected = await query<{ n: string }>(
      db,
      `select coalesce(sum(count), 0)::text as n from audit_event
        where tenant = $1 and via = 'tester' and decision = 'rejected' and kind in ('http', 'preflight')`,
      [proxied.slug],
    );
    expect(Number(testerRejected[0]?.n)).toBeGreaterThan(2);

    // Read directly, then summarized: both paths must leave the CORS tester out.
    for (const summarize of [false, true]) {
      if (summarize) await summarizeAudit({ pool });
      for (const window of ["hour", "day"] as const) {
        const without = await getAuditStats({ db: pool, tenant: proxied.slug, window, topLimit: 1000 });
        const withTester = await getAuditStats({
          db: pool,
          tenant: proxied.slug,
          window,
          topLimit: 1000,
          includeTester: true,
        });
        const origins = (stats: typeof without) => stats.topRejected.map((r) => r.origin);
        expect(origins(without).sort()).toEqual([HTTP_FORGED, HTTP_REAL].sort());
        expect(origins(withTester)).toEqual(expect.arrayContaining([HTTP_TESTED, "https://evil.net"]));
        const rejected = (stats: typeof without) => stats.timeline.reduce((n, b) => n + b.rejected, 0);
        expect(rejected(without)).toBe(2);
        expect(rejected(withTester)).toBe(2 + Number(testerRejected[0]?.n));
      }
    }
  });
});

/** One plain HTTP request to the gateway; resolves its status (the body is drained). */
function httpStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.httpUrl}${path}`, { headers });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
