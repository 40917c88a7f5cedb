/**
 * Enforcement at the handshake, against a real gateway (port 0) and a real Postgres:
 * every reason code answers with its status and X-OriginGate-Reason before any upgrade;
 * malformed handshakes over raw TCP; readiness and the instance heartbeat.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signHandshakeToken } from "../../server/policy";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import {
  closed,
  eventually,
  expectRefusal,
  handshake,
  nextMessage,
  rawRequest,
  startGateway,
  type TestGateway,
  upgradeRequest,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

let db: string;
let gw: TestGateway;
let open: TenantFixture;
let tokens: TenantFixture;
let protocols: TenantFixture;
let missingAllowed: TenantFixture;
let withNull: TenantFixture;
let limited: TenantFixture;
let rated: TenantFixture;
let reportOnly: TenantFixture;
let unreachable: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase("gwhs");
  open = await createTenant(db, { policy: { origins: ["https://app.example.com", "https://*.example.org"] } });
  tokens = await createTenant(db, { policy: { origins: ["https://app.example.com"], token: "required" } });
  protocols = await createTenant(db, {
    policy: { origins: ["https://app.example.com"], subprotocols: ["chat.v2", "chat.v1"] },
  });
  missingAllowed = await createTenant(db, { policy: { origins: ["https://app.example.com"], missingOrigin: "allow" } });
  withNull = await createTenant(db, { policy: { origins: ["null"] } });
  limited = await createTenant(db, { policy: { origins: ["https://app.example.com"], limits: { maxConnections: 2 } } });
  rated = await createTenant(db, {
    policy: { origins: ["https://app.example.com"], limits: { handshakesPerMinutePerIp: 3 } },
  });
  reportOnly = await createTenant(db, { policy: { origins: ["https://app.example.com"], mode: "report-only" } });
  unreachable = await createTenant(db, {
    upstreamUrl: "ws://127.0.0.1:9",
    policy: { origins: ["https://app.example.com"] },
  });
  gw = await startGateway(db, { handshakeTimeoutMs: 1000, maxHeaderBytes: 4096 });
});

afterAll(async () => {
  await gw?.stop();
});

const url = (t: TenantFixture, rest = "/socket") => `${gw.wsUrl}/t/${t.slug}${rest}`;
const token = (t: TenantFixture, claims: Record<string, unknown> = {}) =>
  signHandshakeToken({ aud: t.slug, exp: Math.floor(Date.now() / 1000) + 60, ...claims }, t.tokenSecret);

describe("readiness and fleet record", () => {
  it("answers /readyz 200 once policies are loaded, and /healthz ok once it also listens", async () => {
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    // Ready means loaded; the LISTEN connection comes up just after, and until it does
    // /healthz rightly says degraded (on Node 24 this test used to run inside that window).
    const health = await eventually(async () => {
      const body = (await (await fetch(`${gw.httpUrl}/healthz`)).json()) as {
        status: string;
        policySource: string;
        audit: { status: string };
        policy: { status: string; tenants?: number };
      };
      return body.status === "ok" ? body : null;
    });
    expect(health).toMatchObject({ status: "ok", policySource: "postgres", audit: { status: "ok" } });
    expect(health.policy.status).toBe("ok");
    // The public port shows no tenant count (tests/integration/gateway-admin-listener.test.ts).
    expect(health.policy.tenants).toBeUndefined();
    expect(gw.gateway.ctx.store.health().tenants).toBeGreaterThanOrEqual(9);
  });

  it("records itself with a heartbeat and the versions it enforces", async () => {
    const row = await eventually(async () => {
      const rows = await query<{ last_heartbeat_at: Date; enforced_versions: Record<string, number> }>(
        db,
        "select last_heartbeat_at, enforced_versions from gateway_instance where id = $1",
        [gw.gateway.id],
      );
      return rows[0]?.enforced_versions[open.slug] ? rows[0] : null;
    });
    expect(row.enforced_versions[open.slug]).toBe(1);
    const first = row.last_heartbeat_at.getTime();
    await eventually(async () => {
      const rows = await query<{ last_heartbeat_at: Date }>(
        db,
        "select last_heartbeat_at from gateway_instance where id = $1",
        [gw.gateway.id],
      );
      return rows[0]!.last_heartbeat_at.getTime() > first;
    });
  });

  it("exposes Prometheus metrics with exact handshake and open-connection counts", async () => {
    const scrape = async () => (await fetch(`${gw.httpUrl}/metrics`)).text();
    /** The value of one series, 0 when absent. */
    const value = (text: string, series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const refused = `origingate_handshakes_total{tenant="${open.slug}",decision="rejected",reason="origin_not_allowed"}`;
    const accepted = `origingate_handshakes_total{tenant="${open.slug}",decision="accepted",reason="allowed"}`;
    const openSeries = `origingate_open_connections{tenant="${open.slug}"}`;
    const before = await scrape();
    await expectRefusal(url(open), { origin: "https://evil.example.net" });
    await expectRefusal(url(open), { origin: "https://evil.example.net" });
    const a = await handshake(url(open), { origin: "https://app.example.com" });
    const b = await handshake(url(open), { origin: "https://app.example.com" });
    const during = await scrape();
    expect(value(during, refused) - value(before, refused)).toBe(2);
    expect(value(during, accepted) - value(before, accepted)).toBe(2);
    expect(value(during, openSeries) - value(before, openSeries)).toBe(2);
    a.ws?.close();
    b.ws?.close();
    await eventually(async () => value(await scrape(), openSeries) === value(before, openSeries));
    expect(during).toContain("origingate_policy_age_seconds");
    expect(during).toContain("origingate_audit_queue_depth");
  });
});

describe("every reason code and its status", () => {
  const cases: Array<{
    reason: string;
    status: number;
    tenant: () => TenantFixture;
    origin?: string | null;
    protocols?: () => string[];
    headers?: Record<string, string>;
    rest?: () => string;
  }> = [
    { reason: "origin_not_allowed", status: 403, tenant: () => open, origin: "https://app.example.com.evil.net" },
    { reason: "origin_not_allowed", status: 403, tenant: () => open, origin: "https://evilexample.org" },
    { reason: "origin_not_allowed", status: 403, tenant: () => open, origin: "https://example.org" },
    { reason: "origin_not_allowed", status: 403, tenant: () => open, origin: "http://app.example.com" },
    { reason: "origin_missing", status: 403, tenant: () => open, origin: null },
    { reason: "origin_null", status: 403, tenant: () => open, origin: "null" },
    { reason: "origin_malformed", status: 403, tenant: () => open, origin: "https://app.example.com/" },
    { reason: "origin_malformed", status: 403, tenant: () => open, origin: "https://app.example.com, https://x.com" },
    {
      reason: "credentials_forbidden",
      status: 403,
      tenant: () => open,
      origin: "https://app.example.com",
      headers: { Cookie: "sid=1" },
    },
    {
      reason: "credentials_forbidden",
      status: 403,
      tenant: () => open,
      origin: "https://app.example.com",
      headers: { Authorization: "Basic dTpw" },
    },
    { reason: "token_missing", status: 401, tenant: () => tokens, origin: "https://app.example.com" },
    {
      reason: "token_invalid",
      status: 401,
      tenant: () => tokens,
      origin: "https://app.example.com",
      protocols: () => [`bearer.${token(tokens, { exp: Math.floor(Date.now() / 1000) - 3600 })}`],
    },
    {
      reason: "token_invalid",
      status: 401,
      tenant: () => tokens,
      origin: "https://app.example.com",
      rest: () => `/socket?access_token=${token(open)}`,
    },
    {
      reason: "subprotocol_not_allowed",
      status: 403,
      tenant: () => protocols,
      origin: "https://app.example.com",
      protocols: () => ["chat.v3"],
    },
    { reason: "subprotocol_not_allowed", status: 403, tenant: () => protocols, origin: "https://app.example.com" },
    { reason: "upstream_unavailable", status: 503, tenant: () => unreachable, origin: "https://app.example.com" },
  ];

  for (const c of cases) {
    it(`${c.reason} -> ${c.status} (${c.origin === null ? "no Origin" : c.origin}${c.headers ? ` + ${Object.keys(c.headers)[0]}` : ""})`, async () => {
      const outcome = await expectRefusal(url(c.tenant(), c.rest?.() ?? "/socket"), {
        origin: c.origin,
        protocols: c.protocols?.(),
        headers: c.headers,
      });
      expect({ status: outcome.status, reason: outcome.reason }).toEqual({ status: c.status, reason: c.reason });
    });
  }

  it("tenant_unknown -> 404", async () => {
    const outcome = await expectRefusal(`${gw.wsUrl}/t/no-such-tenant/x`, { origin: "https://app.example.com" });
    expect([outcome.status, outcome.reason]).toEqual([404, "tenant_unknown"]);
  });

  it("a 401 names the Bearer scheme", async () => {
    const outcome = await expectRefusal(url(tokens), { origin: "https://app.example.com" });
    expect(String(outcome.headers["www-authenticate"])).toMatch(/^Bearer /);
  });

  it("allowed: exact and wildcard origins upgrade and echo", async () => {
    for (const origin of ["https://app.example.com", "https://deep.sub.example.org", "https://APP.example.com:443"]) {
      const outcome = await handshake(url(open), { origin });
      expect(outcome.status).toBe(101);
      outcome.ws!.send("ping");
      expect((await nextMessage(outcome.ws!)).data.toString()).toBe("ping");
      outcome.ws!.close();
    }
  });

  it("allowed: a valid token from the subprotocol or the access_token parameter", async () => {
    const jwt = token(tokens);
    const viaProtocol = await handshake(url(tokens), {
      origin: "https://app.example.com",
      protocols: ["app.v1", `bearer.${jwt}`],
    });
    expect(viaProtocol.status).toBe(101);
    expect(viaProtocol.protocol).toBe("app.v1");
    viaProtocol.ws!.close();
    // Offered alone, the bearer entry is echoed: browsers fail a handshake whose offered
    // subprotocols get no answer.
    const alone = await handshake(url(tokens), { origin: "https://app.example.com", protocols: [`bearer.${jwt}`] });
    expect(alone.status).toBe(101);
    expect(alone.protocol).toBe(`bearer.${jwt}`);
    alone.ws!.close();
    // The token never reaches the audit table (or the live feed that reads it).
    const rows = await eventually(async () => {
      const r = await query<{ row: string }>(
        db,
        "select row_to_json(a)::text as row from audit_event a where tenant = $1",
        [tokens.slug],
      );
      return r.some((x) => x.row.includes("bearer.[redacted]")) ? r : null;
    });
    for (const r of rows) expect(r.row).not.toContain(jwt.split(".")[2]!);
    const viaQuery = await handshake(url(tokens, `/socket?access_token=${token(tokens)}`), {
      origin: "https://app.example.com",
    });
    expect(viaQuery.status).toBe(101);
    viaQuery.ws!.close();
  });

  it("selects the first offered subprotocol that the policy allows", async () => {
    const outcome = await handshake(url(protocols), {
      origin: "https://app.example.com",
      protocols: ["chat.v3", "chat.v1", "chat.v2"],
    });
    expect(outcome.status).toBe(101);
    expect(outcome.protocol).toBe("chat.v1");
    outcome.ws!.close();
  });

  it("missing Origin is governed by missingOrigin, never by a pattern; null only by the null pattern", async () => {
    const missing = await handshake(url(missingAllowed), {});
    expect(missing.status).toBe(101);
    missing.ws!.close();
    const nullOk = await handshake(url(withNull), { origin: "null" });
    expect(nullOk.status).toBe(101);
    nullOk.ws!.close();
    expect((await expectRefusal(url(withNull), { origin: "https://app.example.com" })).reason).toBe(
      "origin_not_allowed",
    );
  });

  it("connection_limit -> 503 once maxConnections are open, and a slot frees on close", async () => {
    const a = await handshake(url(limited), { origin: "https://app.example.com" });
    const b = await handshake(url(limited), { origin: "https://app.example.com" });
    expect([a.status, b.status]).toEqual([101, 101]);
    const third = await expectRefusal(url(limited), { origin: "https://app.example.com" });
    expect([third.status, third.reason]).toEqual([503, "connection_limit"]);
    a.ws!.close();
    await closed(a.ws!);
    const again = await eventually(async () => {
      const o = await handshake(url(limited), { origin: "https://app.example.com" });
      if (o.status !== 101) return null;
      return o;
    });
    again.ws!.close();
    b.ws!.close();
  });

  it("rate_limited -> 429 after handshakesPerMinutePerIp from one address (rejected ones count too)", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const o = await handshake(url(rated), {
        origin: i === 1 ? "https://evil.example.net" : "https://app.example.com",
      });
      statuses.push(o.status);
      o.ws?.close();
    }
    expect(statuses).toEqual([101, 403, 101, 429]);
    const limitedOutcome = await expectRefusal(url(rated), { origin: "https://app.example.com" });
    expect(limitedOutcome.reason).toBe("rate_limited");
    // Seconds until the tenant's window ends: at most the 60 s window, at least 1.
    const retryAfter = Number(limitedOutcome.headers["retry-after"]);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  });

  it("report-only lets a refused origin through and records what enforce would have done", async () => {
    const outcome = await handshake(url(reportOnly), { origin: "https://evil.example.net" });
    expect(outcome.status).toBe(101);
    outcome.ws!.close();
    const rows = await eventually(async () => {
      const r = await query<{ decision: string; reason: string }>(
        db,
        "select decision, reason from audit_event where tenant = $1 and kind = 'handshake'",
        [reportOnly.slug],
      );
      return r.length > 0 ? r : null;
    });
    expect(rows).toEqual([{ decision: "report_only", reason: "origin_not_allowed" }]);
  });
});

describe("failing closed", () => {
  it("a fault after the decision refuses that client with 503 gateway_unavailable; the gateway keeps serving", async () => {
    const connections = gw.gateway.ctx.connections;
    const reserve = connections.reserve;
    connections.reserve = () => {
      throw new Error("injected fault");
    };
    try {
      const outcome = await expectRefusal(url(open), { origin: "https://app.example.com" });
      expect([outcome.status, outcome.reason]).toEqual([503, "gateway_unavailable"]);
    } finally {
      connections.reserve = reserve;
    }
    const after = await handshake(url(open), { origin: "https://app.example.com" });
    expect(after.status).toBe(101);
    after.ws!.close();
  });
});

describe("malformed handshakes over raw TCP", () => {
  const path = () => `/t/${open.slug}/raw`;
  const ok = { Origin: "https://app.example.com" };

  it("a well-formed raw handshake upgrades (control case for the refusals below)", async () => {
    // The socket stays open after a 101, so read the head as it arrives instead of waiting for a close.
    const socket = net.connect(gw.port, "127.0.0.1");
    const head = await new Promise<string>((resolve, reject) => {
      let data = "";
      socket.on("data", (chunk) => {
        data += chunk.toString("latin1");
        if (data.includes("\r\n\r\n")) resolve(data);
      });
      socket.on("error", reject);
      socket.write(upgradeRequest(path(), ok));
    });
    socket.destroy();
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 101 Switching Protocols");
    expect(head.toLowerCase()).toContain("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=");
  });

  const cases: Array<{ name: string; request: () => string; status: number; header?: [string, string] }> = [
    { name: "wrong method", request: () => upgradeRequest(path(), ok, "POST"), status: 405, header: ["allow", "GET"] },
    {
      name: "missing Sec-WebSocket-Key",
      request: () => upgradeRequest(path(), { ...ok, "Sec-WebSocket-Key": undefined }),
      status: 400,
    },
    {
      name: "malformed Sec-WebSocket-Key",
      request: () => upgradeRequest(path(), { ...ok, "Sec-WebSocket-Key": "short==" }),
      status: 400,
    },
    {
      name: "version other than 13",
      request: () => upgradeRequest(path(), { ...ok, "Sec-WebSocket-Version": "8" }),
      status: 426,
      header: ["sec-websocket-version", "13"],
    },
    {
      name: "missing version",
      request: () => upgradeRequest(path(), { ...ok, "Sec-WebSocket-Version": undefined }),
      status: 426,
    },
    { name: "Upgrade not websocket", request: () => upgradeRequest(path(), { ...ok, Upgrade: "h2c" }), status: 400 },
    {
      name: "malformed subprotocol list",
      request: () => upgradeRequest(path(), { ...ok, "Sec-WebSocket-Protocol": "a b, c" }),
      status: 400,
    },
    {
      name: "two Origin header lines",
      request: () => upgradeRequest(path(), ok).replace("\r\n\r\n", "\r\nOrigin: https://evil.example.net\r\n\r\n"),
      status: 403,
    },
    {
      name: "plain GET without Upgrade",
      request: () => `GET ${path()} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      status: 426,
    },
  ];

  for (const c of cases) {
    it(`${c.name} -> ${c.status}`, async () => {
      const res = await rawRequest(gw.port, c.request());
      expect(res.status).toBe(c.status);
      expect(res.headers["x-origingate-reason"]).toBeDefined();
      if (c.header) expect(res.headers[c.header[0]]).toBe(c.header[1]);
      expect(res.raw).not.toContain("101 Switching Protocols");
    });
  }

  it("an oversized handshake is refused with 431", async () => {
    const res = await rawRequest(gw.port, upgradeRequest(path(), { ...ok, "X-Padding": "a".repeat(8000) }));
    expect(res.status).toBe(431);
  });

  it("a handshake whose headers never finish is cut off", async () => {
    const res = await rawRequest(gw.port, `GET ${path()} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n`, {
      timeoutMs: 5000,
    });
    expect(res.status).toBe(408);
  });
});
