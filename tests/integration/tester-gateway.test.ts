/**
 * The handshake tester against this gateway's own tenants, through the real admin endpoint
 * (POST /admin/tester/handshake|scan) of a real gateway on a real Postgres: authentication,
 * validation, real handshakes with their decision trace, scans that find nothing on an
 * enforcing tenant (and do find the holes of a report-only one), rate limits, and the
 * audit trail without secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signHandshakeToken } from "../../server/policy";
import type { HandshakeResponse, ScanResponse } from "../../server/tester/types";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { callTester, flushAudit } from "./tester-helpers";

let db: string;
let gw: TestGateway;
let open: TenantFixture;
let tokens: TenantFixture;
let rated: TenantFixture;
let reportOnly: TenantFixture;

const SECRET_COOKIE = "sid=SECRET-COOKIE-VALUE-31337";
const SECRET_AUTH = "Bearer SECRET-AUTHORIZATION-VALUE-4242";

beforeAll(async () => {
  db = await createTestDatabase("tester_gw");
  open = await createTenant(db, { policy: { origins: ["https://app.example.com", "https://*.example.org"] } });
  tokens = await createTenant(db, {
    policy: { origins: ["https://app.example.com"], token: "required", subprotocols: ["chat.v1"] },
  });
  rated = await createTenant(db, {
    policy: { origins: ["https://app.example.com"], limits: { handshakesPerMinutePerIp: 5 } },
  });
  reportOnly = await createTenant(db, { policy: { origins: ["https://app.example.com"], mode: "report-only" } });
  gw = await startGateway(db, { audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
});

describe("authentication and input", () => {
  it("refuses a request without an admin token, with a token of another scope, and a viewer", async () => {
    const none = await fetch(`${gw.httpUrl}/admin/tester/handshake`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant: open.slug }),
    });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("unauthorized");

    const stream = await callTester(gw, "handshake", { tenant: open.slug }, { scope: "stream" });
    expect(stream.status).toBe(401);
    expect(JSON.stringify(stream.body)).toContain("not tester");

    const viewer = await callTester(gw, "handshake", { tenant: open.slug }, { role: "viewer" });
    expect(viewer.status).toBe(403);

    const forged = await fetch(`${gw.httpUrl}/admin/tester/handshake`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer eyJhbGciOiJub25lIn0.e30." },
      body: JSON.stringify({ tenant: open.slug }),
    });
    expect(forged.status).toBe(401);
  });

  it("answers 405 to GET, 415 to a non-JSON body and 400 to broken JSON", async () => {
    expect((await fetch(`${gw.httpUrl}/admin/tester/scan`)).status).toBe(405);
    const key = gw.gateway.ctx.adminKey!;
    const { signAdminToken } = await import("../../server/admin/admin-token");
    const token = signAdminToken({ sub: "u", name: "n", role: "admin", scope: "tester" }, key);
    const text = await fetch(`${gw.httpUrl}/admin/tester/scan`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "text/plain" },
      body: "{}",
    });
    expect(text.status).toBe(415);
    const broken = await fetch(`${gw.httpUrl}/admin/tester/scan`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: "{nope",
    });
    expect(broken.status).toBe(400);
  });

  it("validates the body with 422 and details", async () => {
    const cases: Array<[unknown, string]> = [
      [{}, "tenant"],
      [{ tenant: open.slug, origin: "https://a.example.com\r\nX-Injected: 1" }, "origin"],
      [{ tenant: open.slug, headers: { Host: "evil.example" } }, "headers.Host"],
      [{ tenant: open.slug, headers: { "Sec-WebSocket-Key": "x" } }, "headers.Sec-WebSocket-Key"],
      [{ tenant: open.slug, headers: { Cookie: "a=b" } }, "headers.Cookie"],
      [{ tenant: open.slug, headers: { "Bad Name": "x" } }, "headers.Bad Name"],
      [{ tenant: open.slug, path: "/../admin/stream" }, "path"],
      [{ tenant: open.slug, subprotocols: ["a b"] }, "subprotocols.0"],
      [{ tenant: open.slug, originn: "typo" }, ""],
      [{ url: "ws://127.0.0.1:1/x", path: "/y" }, "path"],
    ];
    for (const [body, path] of cases) {
      const res = await callTester<{ error: { code: string; details: Array<{ path: string }> } }>(
        gw,
        "handshake",
        body,
      );
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details.map((d) => d.path)).toContain(path);
    }
    const scan = await callTester<{ error: { details: Array<{ path: string }> } }>(gw, "scan", {
      url: "ws://127.0.0.1:1/",
    });
    expect(scan.status).toBe(422);
    expect(scan.body.error.details.map((d) => d.path)).toContain("tenant");
  });

  it("refuses forwarding headers against this gateway (they would fake the client address)", async () => {
    const res = await callTester<{ error: { code: string; details: Array<{ path: string }> } }>(gw, "handshake", {
      tenant: open.slug,
      origin: "https://app.example.com",
      headers: { "X-Forwarded-For": "203.0.113.9" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.map((d) => d.path)).toEqual(["headers.X-Forwarded-For"]);
  });

  it("runs at most two scans at once", async () => {
    const runs = await Promise.all(
      [1, 2, 3].map(() => callTester<{ error?: { code: string } }>(gw, "scan", { tenant: open.slug })),
    );
    expect(runs.map((r) => r.status).sort()).toEqual([200, 200, 429]);
    expect(runs.find((r) => r.status === 429)?.body.error?.code).toBe("too_many_runs");
  });

  it("answers 404 for a tenant this gateway does not know", async () => {
    const res = await callTester<{ error: { code: string } }>(gw, "handshake", { tenant: "no-such-tenant" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("tenant_unknown");
  });
});

describe("handshake against this gateway", () => {
  it("upgrades an allowed origin and explains which pattern matched", async () => {
    const { status, body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: open.slug,
      path: "/chat?room=1",
      origin: "https://deep.app.example.org",
    });
    expect(status).toBe(200);
    expect(body.status).toBe(101);
    expect(body.statusLine).toBe("HTTP/1.1 101 Switching Protocols");
    expect(body.upgraded).toBe(true);
    expect(body.closeCode).toBeUndefined();
    expect(body.reason).toBeUndefined();
    expect(body.headers.upgrade?.toLowerCase()).toBe("websocket");
    expect(body.target).toMatchObject({ kind: "tenant", tenant: open.slug });
    expect(body.target.url).toContain(`/t/${open.slug}/chat?room=…`);
    expect(body.policyVersion).toBe(1);
    expect(body.trace?.decision).toMatchObject({
      allowed: true,
      reason: "allowed",
      matchedPattern: "https://*.example.org",
    });
    expect(body.trace?.steps.map((s) => [s.check, s.outcome])).toEqual([
      ["origin", "pass"],
      ["credentials", "pass"],
      ["token", "pass"],
      ["subprotocol", "pass"],
      ["mode", "info"],
    ]);
    expect(body.timings.connect).toBeGreaterThanOrEqual(0);
    expect(body.timings.response).toBeGreaterThanOrEqual(0);
    expect(body.timings.tls).toBeNull();
    expect(body.timings.total).toBeGreaterThanOrEqual(body.timings.connect!);
    expect(body.sent.find(([n]) => n === "Origin")?.[1]).toBe("https://deep.app.example.org");
  });

  it("shows a refused origin's status, reason, body and the closest pattern", async () => {
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: open.slug,
      origin: "https://app.example.com.evil.net",
    });
    expect(body.status).toBe(403);
    expect(body.upgraded).toBe(false);
    expect(body.reason).toBe("origin_not_allowed");
    expect(body.headers["x-origingate-reason"]).toBe("origin_not_allowed");
    expect(body.body?.text).toContain("matches no pattern");
    expect(body.body?.truncated).toBe(false);
    expect(body.trace?.decision).toMatchObject({ allowed: false, reason: "origin_not_allowed", status: 403 });
    expect(body.trace?.closestPattern?.pattern).toBe("https://app.example.com");
    expect(body.trace?.closestPattern?.why).toMatch(/app\.example\.com\.evil\.net/);
  });

  it("tells no Origin, the null origin and a malformed one apart", async () => {
    const missing = await callTester<HandshakeResponse>(gw, "handshake", { tenant: open.slug, origin: null });
    expect([missing.body.status, missing.body.reason]).toEqual([403, "origin_missing"]);
    expect(missing.body.sent.some(([n]) => n === "Origin")).toBe(false);
    const opaque = await callTester<HandshakeResponse>(gw, "handshake", { tenant: open.slug, origin: "null" });
    expect([opaque.body.status, opaque.body.reason]).toEqual([403, "origin_null"]);
    const several = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: open.slug,
      origin: "https://app.example.com, https://evil.net",
    });
    expect([several.body.status, several.body.reason, several.body.trace?.decision.reason]).toEqual([
      403,
      "origin_malformed",
      "origin_malformed",
    ]);
  });

  it("sends cookies and Authorization for real but never returns their values", async () => {
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: open.slug,
      origin: "https://app.example.com",
      cookie: SECRET_COOKIE,
      authorization: SECRET_AUTH,
    });
    expect([body.status, body.reason]).toEqual([403, "credentials_forbidden"]);
    const credentials = body.trace?.steps.find((s) => s.check === "credentials");
    expect(credentials?.outcome).toBe("fail");
    expect(credentials?.message).toContain("Cookie and Authorization");
    expect(body.sent.find(([n]) => n === "Cookie")?.[1]).toMatch(/^\[redacted\]/);
    expect(JSON.stringify(body)).not.toContain("SECRET");
  });

  it("offers the token as bearer.<jwt> and hides it in the answer", async () => {
    const jwt = signHandshakeToken({ aud: tokens.slug, exp: Math.floor(Date.now() / 1000) + 60 }, tokens.tokenSecret);
    const ok = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tokens.slug,
      origin: "https://app.example.com",
      token: jwt,
      subprotocols: ["chat.v1"],
    });
    expect(ok.body.status).toBe(101);
    expect(ok.body.subprotocol).toBe("chat.v1");
    expect(ok.body.trace?.steps.find((s) => s.check === "token")?.outcome).toBe("pass");
    expect(JSON.stringify(ok.body)).not.toContain(jwt);

    const missing = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tokens.slug,
      origin: "https://app.example.com",
      subprotocols: ["chat.v1"],
    });
    expect([missing.body.status, missing.body.reason]).toEqual([401, "token_missing"]);
    expect(missing.body.headers["www-authenticate"]).toContain("Bearer");

    const wrongProtocol = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tokens.slug,
      origin: "https://app.example.com",
      token: jwt,
      subprotocols: ["chat.v9"],
    });
    expect([wrongProtocol.body.status, wrongProtocol.body.reason]).toEqual([403, "subprotocol_not_allowed"]);
  });
});

describe("scan against this gateway", () => {
  it("finds nothing on an enforcing tenant: every variant the policy refuses is refused before the upgrade", async () => {
    const { status, body } = await callTester<ScanResponse>(gw, "scan", { tenant: open.slug });
    expect(status).toBe(200);
    expect(body.findings).toEqual([]);
    expect(body.summary.findings).toBe(0);
    expect(body.summary.errors).toBe(0);
    expect(body.truncated).toBe(false);
    expect(body.policyVersion).toBe(1);
    const origins = body.results.map((r) => r.origin);
    expect(new Set(origins).size).toBe(origins.length);
    for (const expected of [
      null,
      "null",
      "https://app.example.com",
      "http://app.example.com",
      "https://evilexample.org",
    ]) {
      expect(origins).toContain(expected);
    }
    for (const r of body.results) {
      if (r.expected === "refuse") {
        expect([r.origin, r.observed, r.status]).toEqual([r.origin, "refused", 403]);
        expect(r.reason).toBe(r.expectedReason);
      } else {
        expect([r.origin, r.observed, r.status]).toEqual([r.origin, "allowed", 101]);
      }
    }
    // The controls (allowed origins, including the upper-case spelling) were really accepted.
    const upper = body.results.find((r) => r.origin === "https://APP.EXAMPLE.COM");
    expect(upper).toMatchObject({ expected: "allow", observed: "allowed", raw: true });
    expect(body.summary.allowed).toBeGreaterThanOrEqual(4);
  });

  it("sends a valid token and an allowed subprotocol when the policy requires them", async () => {
    const { body } = await callTester<ScanResponse>(gw, "scan", { tenant: tokens.slug });
    expect(body.findings).toEqual([]);
    expect(body.notes.join(" ")).toMatch(/requires a token/);
    expect(body.notes.join(" ")).toMatch(/"chat\.v1"/);
    const control = body.results.find((r) => r.origin === "https://app.example.com");
    expect(control).toMatchObject({ expected: "allow", observed: "allowed", status: 101 });
    expect(body.results.filter((r) => r.reason === "token_missing")).toEqual([]);
  });

  it("reports what the tenant's rate limit refused as inconclusive, not as protection", async () => {
    const { body } = await callTester<ScanResponse>(gw, "scan", { tenant: rated.slug });
    expect(body.summary.rateLimited).toBe(body.summary.variants - 5);
    expect(body.summary.errors).toBe(body.summary.rateLimited);
    for (const r of body.results.filter((x) => x.status === 429)) {
      expect(r).toMatchObject({ observed: "error", reason: "rate_limited", finding: false });
    }
    expect(body.notes.join(" ")).toMatch(/allows 5 handshakes per minute/);
  });

  it("reports what a report-only tenant lets through as findings", async () => {
    const { body } = await callTester<ScanResponse>(gw, "scan", { tenant: reportOnly.slug });
    expect(body.mode).toBe("report-only");
    expect(body.summary.findings).toBe(body.results.filter((r) => r.expected === "refuse").length);
    expect(body.findings.map((f) => f.origin)).toContain("https://app.example.com.evil.net");
    expect(body.notes.join(" ")).toMatch(/report-only/);
  });
});

describe("audit", () => {
  it("records every run — who, target, origin, outcome — and never a secret", async () => {
    await callTester(
      gw,
      "handshake",
      {
        tenant: open.slug,
        origin: "https://app.example.com",
        cookie: SECRET_COOKIE,
        authorization: SECRET_AUTH,
        headers: { "X-Api-Key": "SECRET-HEADER-VALUE-777" },
      },
      { name: "carol@example.com" },
    );
    await callTester(gw, "handshake", { tenant: "ghost-tenant" }, { name: "mallory@example.com" });
    await flushAudit(gw);
    const rows = await query<{
      reason: string;
      tenant: string;
      origin: string | null;
      decision: string;
      details: { by?: { name?: string }; runId?: string; request?: unknown; outcome?: unknown };
    }>(db, "select reason, tenant, origin, decision, details from audit_event where kind = 'tester' order by id");
    const carol = rows.find((r) => r.details.by?.name === "carol@example.com");
    expect(carol).toMatchObject({
      reason: "tester_handshake",
      tenant: open.slug,
      origin: "https://app.example.com",
      decision: "accepted",
    });
    expect(carol?.details.request).toMatchObject({
      hasCookie: true,
      hasAuthorization: true,
      hasToken: false,
      headerNames: ["X-Api-Key"],
    });
    expect(carol?.details.outcome).toMatchObject({
      status: 403,
      upgraded: false,
      reason: "credentials_forbidden",
      expected: "refuse",
    });
    const refused = rows.find((r) => r.details.by?.name === "mallory@example.com");
    expect(refused).toMatchObject({ reason: "tester_target_refused", decision: "rejected", tenant: "ghost-tenant" });
    const scans = rows.filter((r) => r.reason === "tester_scan");
    expect(scans.length).toBeGreaterThanOrEqual(4);
    expect(scans.find((r) => r.tenant === reportOnly.slug)?.details.outcome).toMatchObject({
      findings: expect.any(Number),
    });

    // The tester's own handshakes are audited by the gateway too, marked by the run id.
    const runIds = rows.map((r) => r.details.runId ?? "");
    const own = await query<{ user_agent: string }>(
      db,
      "select user_agent from audit_event where kind = 'handshake' and user_agent like 'OriginGate-Tester/1 (run %'",
    );
    expect(own.some((r) => runIds.some((id) => r.user_agent.includes(id)))).toBe(true);

    // No cookie, authorization, token or extra-header value anywhere in the audit table.
    const leaks = await query(db, "select id from audit_event where row_to_json(audit_event)::text ~ 'SECRET|eyJ'");
    expect(leaks).toEqual([]);
  });
});
