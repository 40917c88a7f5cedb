/**
 * The CORS tester (`/admin/tester/cors`, `/admin/tester/cors-scan`) through the real admin
 * endpoint, against this gateway's tenants (with the decision trace) and against registered
 * HTTP endpoints with the classic misconfigurations: the Gin SSE bug (any origin reflected
 * with credentials, no Vary: Origin, `null` accepted), `*` with credentials, and a correct
 * server. The scan must report exactly what each one gets wrong, and nothing for a correct
 * one or for OriginGate itself.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CorsScanResponse, CorsTestResponse } from "../../server/tester/types";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { startUpstream, type Upstream } from "../helpers/upstreams";
import { callTester, flushAudit, registerEndpoint } from "./tester-helpers";

const APP = "https://app.example.com";

let db: string;
let gw: TestGateway;
let upstream: Upstream;
let proxied: TenantFixture;
let external: TenantFixture;
const servers: http.Server[] = [];
let reflecting: string;
let wildcard: string;
let correct: string;
let requestsSeen = 0;

/** An HTTP server answering every request with `cors(origin)`'s headers. */
async function corsServer(cors: (origin: string | undefined) => Record<string, string>): Promise<string> {
  const server = http.createServer((req, res) => {
    requestsSeen += 1;
    res.writeHead(200, { "Content-Type": "text/plain", ...cors(req.headers.origin) });
    res.end("ok");
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
}

beforeAll(async () => {
  upstream = await startUpstream();
  db = await createTestDatabase("tester_cors");
  proxied = await createTenant(db, {
    upstreamUrl: upstream.wsUrl,
    policy: {
      origins: [APP],
      cors: { methods: ["GET", "POST"], allowHeaders: ["x-trace-id"], exposeHeaders: [], maxAgeSeconds: 60 },
    },
  });
  external = await createTenant(db, { policy: { origins: [APP] } });
  // The Gin SSE bug: whatever Origin comes is reflected, with credentials, and no Vary.
  reflecting = await corsServer(
    (origin): Record<string, string> =>
      origin ? { "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true" } : {},
  );
  wildcard = await corsServer(() => ({
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Credentials": "true",
  }));
  correct = await corsServer(
    (origin): Record<string, string> =>
      origin === APP
        ? { "Access-Control-Allow-Origin": APP, "Access-Control-Allow-Credentials": "true", Vary: "Origin" }
        : { Vary: "Origin" },
  );
  await registerEndpoint(db, external.id, reflecting, "reflecting");
  // Registered in its WebSocket form: one registration covers both testers.
  await registerEndpoint(db, external.id, wildcard.replace("http://", "ws://"), "wildcard");
  await registerEndpoint(db, external.id, correct, "correct");
  gw = await startGateway(db);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  for (const s of servers) s.close();
});

describe("single CORS request", () => {
  it("against this gateway: status, CORS headers and the decision trace", async () => {
    const allowed = await callTester<CorsTestResponse>(gw, "cors", { tenant: proxied.slug, path: "/x", origin: APP });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ status: 200, granted: true, issues: [] });
    expect(allowed.body.cors.allowOrigin).toBe(APP);
    expect(allowed.body.trace?.decision).toMatchObject({ kind: "actual", allowed: true, reason: "allowed" });

    const refused = await callTester<CorsTestResponse>(gw, "cors", {
      tenant: proxied.slug,
      path: "/x",
      origin: "https://evil.net",
      method: "POST",
    });
    expect(refused.body).toMatchObject({ status: 403, granted: false, reason: "origin_not_allowed" });
    expect(refused.body.trace?.decision.reason).toBe("origin_not_allowed");

    const preflight = await callTester<CorsTestResponse>(gw, "cors", {
      tenant: proxied.slug,
      path: "/x",
      origin: APP,
      method: "POST",
      preflight: true,
      requestHeaders: ["x-other"],
    });
    expect(preflight.body).toMatchObject({ status: 403, reason: "cors_header_not_allowed" });
    expect(preflight.body.trace?.steps.map((s) => [s.check, s.outcome])).toEqual([
      ["origin", "pass"],
      ["method", "pass"],
      ["headers", "fail"],
      ["mode", "info"],
    ]);
  });

  it("against a registered endpoint: what it granted and what is wrong with it", async () => {
    const answer = await callTester<CorsTestResponse>(gw, "cors", {
      tenant: external.slug,
      url: reflecting,
      origin: "https://evil.net",
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 200, granted: true });
    expect(answer.body.issues.sort()).toEqual(["missing_vary_origin", "origin_reflected"]);
    expect(answer.body.trace).toBeUndefined();
  });

  it("refuses an unregistered URL, and forwarding headers against this gateway", async () => {
    const unregistered = await callTester(gw, "cors", {
      tenant: external.slug,
      url: "http://127.0.0.1:1/nope",
      origin: APP,
    });
    expect(unregistered.status).toBe(403);
    const forwarded = await callTester(gw, "cors", {
      tenant: proxied.slug,
      origin: APP,
      headers: { "X-Forwarded-For": "1.2.3.4" },
    });
    expect(forwarded.status).toBe(422);
    const acrm = await callTester(gw, "cors", {
      tenant: proxied.slug,
      origin: APP,
      headers: { "Access-Control-Request-Method": "PUT" },
    });
    expect(acrm.status).toBe(422);
  });
});

describe("CORS scan", () => {
  it("finds nothing at this gateway enforcing the policy, and the controls are granted", async () => {
    const { status, body } = await callTester<CorsScanResponse>(gw, "cors-scan", {
      tenant: proxied.slug,
      path: "/scan",
    });
    expect(status).toBe(200);
    expect(body.findings).toEqual([]);
    const control = body.results.find((r) => r.origin === APP);
    expect(control).toMatchObject({ expected: "allow", observed: "granted" });
    expect(body.results.find((r) => r.origin === "https://evil.net" && r.probe === "request")).toMatchObject({
      expected: "refuse",
      observed: "refused",
      status: 403,
    });
    expect(body.summary.errors).toBe(0);
  });

  it("reports the reflecting server: arbitrary origin, lookalikes, null with credentials, missing Vary", async () => {
    const { body } = await callTester<CorsScanResponse>(gw, "cors-scan", { tenant: external.slug, url: reflecting });
    const issuesOf = (origin: string) =>
      body.results.find((r) => r.origin === origin && r.probe === "request")?.issues ?? [];
    expect(issuesOf("https://evil.net")).toContain("origin_reflected");
    expect(issuesOf("null")).toEqual(expect.arrayContaining(["origin_reflected", "null_with_credentials"]));
    expect(issuesOf("https://app.example.com.evil.net")).toContain("origin_reflected");
    expect(issuesOf(APP)).toEqual(["missing_vary_origin"]);
    const preflight = body.results.find((r) => r.probe === "preflight");
    expect(preflight).toMatchObject({ finding: true, observed: "granted" });
    expect(body.findings.length).toBe(body.results.filter((r) => r.issues.length > 0).length);
    expect(body.summary.findings).toBeGreaterThan(5);
  });

  it("reports * with credentials (registered in its ws:// form) and nothing for a correct server", async () => {
    const wild = await callTester<CorsScanResponse>(gw, "cors-scan", { tenant: external.slug, url: wildcard });
    expect(wild.status).toBe(200);
    const evil = wild.body.results.find((r) => r.origin === "https://evil.net");
    expect(evil?.issues.sort()).toEqual(["wildcard_for_refused", "wildcard_with_credentials"]);
    const good = await callTester<CorsScanResponse>(gw, "cors-scan", { tenant: external.slug, url: correct });
    expect(good.body.findings).toEqual([]);
    expect(good.body.results.find((r) => r.origin === APP)).toMatchObject({ observed: "granted", issues: [] });
  });

  it("is audited as tester runs", async () => {
    await flushAudit(gw);
    const rows = await query<{ reason: string }>(
      db,
      "select reason from audit_event where kind = 'tester' and reason in ('tester_cors', 'tester_cors_scan')",
    );
    expect(rows.filter((r) => r.reason === "tester_cors").length).toBeGreaterThanOrEqual(3);
    expect(rows.filter((r) => r.reason === "tester_cors_scan").length).toBeGreaterThanOrEqual(3);
    expect(requestsSeen).toBeGreaterThan(0);
  });
});
