/**
 * `/authz/<slug>` against a real gateway and Postgres (SPEC §5.1), with the exact request
 * shapes each proxy sends: Traefik `forwardAuth` (GET, X-Forwarded-Method/Proto/Host/Uri/For,
 * hop-by-hop headers stripped), Envoy `ext_authz` HTTP (the original method, `path_prefix`
 * prepended to the original path, only allowed headers plus Host, Authorization and
 * Content-Length: 0), nginx `auth_request` (X-Original-Method/URI, no Upgrade), Caddy
 * `forward_auth` (carries `Upgrade: websocket`: answered as plain HTTP). Statuses: 200, 401
 * for tokens, 403 for everything else (tenant_unknown, rate_limited, bad_request included),
 * 503 only while the gateway is not ready. Audited via forward_auth, folded.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway } from "../../server/gateway/gateway";
import { createLogger } from "../../server/log";
import { parseTrustProxy } from "../../server/net/client-address";
import { signHandshakeToken } from "../../server/policy";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { eventually, rawRequest, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.net";
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

let db: string;
let gw: TestGateway;
let tenant: TenantFixture;
let tokenTenant: TenantFixture;
let reportOnly: TenantFixture;
let limited: TenantFixture;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function authz(path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.httpUrl}${path}`, {
      method: options.method ?? "GET",
      headers: options.headers,
      agent: false,
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** What Traefik's forwardAuth sends (docs: "Forward-Request Headers"), always GET. */
function traefik(original: { method: string; uri: string }, headers: Record<string, string> = {}) {
  return {
    method: "GET",
    headers: {
      "X-Forwarded-Method": original.method,
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Host": "app.example.com",
      "X-Forwarded-Uri": original.uri,
      "X-Forwarded-For": "198.51.100.7",
      ...headers,
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase("fwdauth");
  tenant = await createTenant(db, {
    policy: {
      origins: [APP],
      cors: { methods: ["GET", "POST"], allowHeaders: ["x-trace-id"], exposeHeaders: [], maxAgeSeconds: 60 },
    },
  });
  tokenTenant = await createTenant(db, { policy: { origins: [APP], token: "required" } });
  reportOnly = await createTenant(db, { policy: { origins: [APP], mode: "report-only" } });
  limited = await createTenant(db, {
    policy: { origins: [APP], limits: { requestsPerMinutePerIp: 2, handshakesPerMinutePerIp: 2 } },
  });
  gw = await startGateway(db, { trustProxy: parseTrustProxy("1"), audit: { flushMs: 20, foldWindowMs: 2000 } });
});

afterAll(async () => {
  await gw?.stop();
});

describe("Traefik forwardAuth shape (GET + X-Forwarded-*)", () => {
  it("an allowed CORS request: 200 with the decision headers and the CORS grant", async () => {
    const answer = await authz(
      `/authz/${tenant.slug}`,
      traefik({ method: "POST", uri: "/api/items?x=1" }, { Origin: APP }),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers["x-origingate-decision"]).toBe("allowed");
    expect(answer.headers["x-origingate-reason"]).toBe("allowed");
    expect(answer.headers["x-origingate-policy-version"]).toBe("1");
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers.vary).toBe("Origin");
  });

  it("a refused origin: 403 origin_not_allowed, no grant", async () => {
    const answer = await authz(`/authz/${tenant.slug}`, traefik({ method: "GET", uri: "/api" }, { Origin: EVIL }));
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe("origin_not_allowed");
    expect(answer.headers["x-origingate-decision"]).toBe("rejected");
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    // Bodiless, so nginx (which reads only the head) can keep its connection to the gateway.
    expect(answer.headers["content-length"]).toBe("0");
    expect(answer.body).toBe("");
  });

  it("a WebSocket handshake is recognised by Sec-WebSocket-Key (Traefik strips Upgrade)", async () => {
    const ws = (origin: string) =>
      authz(
        `/authz/${tenant.slug}`,
        traefik(
          { method: "GET", uri: "/socket" },
          { Origin: origin, "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13" },
        ),
      );
    expect((await ws(APP)).status).toBe(200);
    const refused = await ws(EVIL);
    expect(refused.status).toBe(403);
    expect(refused.headers["x-origingate-reason"]).toBe("origin_not_allowed");
    // The handshake rule, not the CORS one: a cookie is refused under credentials: forbid.
    const cookie = await authz(
      `/authz/${tenant.slug}`,
      traefik({ method: "GET", uri: "/socket" }, { Origin: APP, Cookie: "sid=1", "Sec-WebSocket-Key": KEY }),
    );
    expect(cookie.status).toBe(403);
    expect(cookie.headers["x-origingate-reason"]).toBe("credentials_forbidden");
  });

  it("a preflight: 200 with the preflight headers; a header not listed: 403", async () => {
    const ok = await authz(
      `/authz/${tenant.slug}`,
      traefik(
        { method: "OPTIONS", uri: "/api" },
        { Origin: APP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-trace-id" },
      ),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers["access-control-allow-methods"]).toBe("GET, POST");
    expect(ok.headers["access-control-allow-headers"]).toBe("x-trace-id");
    expect(ok.headers["access-control-max-age"]).toBe("60");
    const refused = await authz(
      `/authz/${tenant.slug}`,
      traefik(
        { method: "OPTIONS", uri: "/api" },
        { Origin: APP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-other" },
      ),
    );
    expect(refused.status).toBe(403);
    expect(refused.headers["x-origingate-reason"]).toBe("cors_header_not_allowed");
  });
});

describe("Envoy ext_authz HTTP shape (original method, path_prefix + original path, allowed headers)", () => {
  it("the original method and path come from the subrequest itself", async () => {
    const preflight = await authz(`/authz/${tenant.slug}/api/items?x=1`, {
      method: "OPTIONS",
      headers: { Origin: APP, "Access-Control-Request-Method": "GET", "Content-Length": "0" },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers["access-control-allow-methods"]).toBe("GET, POST");
    const refused = await authz(`/authz/${tenant.slug}/api/items`, {
      method: "POST",
      headers: { Origin: EVIL, "Content-Length": "0" },
    });
    expect(refused.status).toBe(403);
    const socket = await authz(`/authz/${tenant.slug}/socket`, {
      headers: { Origin: APP, "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13" },
    });
    expect(socket.status).toBe(200);
  });

  it("never answers a policy decision with a 5xx (Envoy reads 5xx as an outage)", async () => {
    for (const origin of [EVIL, "null", "https://x.com/path", ""]) {
      const answer = await authz(`/authz/${tenant.slug}/api`, { headers: { Origin: origin } });
      expect(answer.status).toBe(403);
    }
  });
});

describe("nginx and Caddy shapes", () => {
  it("nginx: X-Original-Method / X-Original-URI", async () => {
    const answer = await authz(`/authz/${tenant.slug}`, {
      headers: { "X-Original-Method": "GET", "X-Original-URI": "/a?b=c", Origin: APP },
    });
    expect(answer.status).toBe(200);
  });

  it("Caddy: a subrequest that carries Upgrade: websocket is answered as plain HTTP, never upgraded", async () => {
    const request = (origin: string) =>
      [
        `GET /authz/${tenant.slug} HTTP/1.1`,
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${KEY}`,
        "Sec-WebSocket-Version: 13",
        `Origin: ${origin}`,
        "X-Forwarded-Method: GET",
        "X-Forwarded-Uri: /socket",
        "",
        "",
      ].join("\r\n");
    const allowed = await rawRequest(gw.port, request(APP));
    expect(allowed.status).toBe(200);
    expect(allowed.headers["x-origingate-decision"]).toBe("allowed");
    expect(allowed.headers.upgrade).toBeUndefined();
    const refused = await rawRequest(gw.port, request(EVIL));
    expect(refused.status).toBe(403);
    expect(refused.headers["x-origingate-reason"]).toBe("origin_not_allowed");
  });
});

describe("statuses", () => {
  it.each([
    ["no original method", { "X-Forwarded-Uri": "/x" }],
    ["no original URI", { "X-Forwarded-Method": "GET" }],
    ["a URI that is not a path", { "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "http://elsewhere/x" }],
    ["a method that is not a token", { "X-Forwarded-Method": "GE T", "X-Forwarded-Uri": "/x" }],
  ])("%s: 403 bad_request, never a pass", async (_name, headers) => {
    const answer = await authz(`/authz/${tenant.slug}`, { headers: { Origin: APP, ...headers } });
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe("bad_request");
  });

  it("a repeated X-Forwarded-Method is bad_request (ambiguous)", async () => {
    const raw = `GET /authz/${tenant.slug} HTTP/1.1\r\nHost: x\r\nOrigin: ${APP}\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Method: POST\r\nX-Forwarded-Uri: /x\r\nConnection: close\r\n\r\n`;
    const answer = await rawRequest(gw.port, raw);
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe("bad_request");
  });

  it("an unknown tenant is 403 tenant_unknown (nginx would turn a 404 into a 500)", async () => {
    const answer = await authz("/authz/no-such-tenant", traefik({ method: "GET", uri: "/" }, { Origin: APP }));
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe("tenant_unknown");
  });

  it("rate limits answer 403 rate_limited, per client address from X-Forwarded-For (TRUST_PROXY=1)", async () => {
    const ask = (address: string) =>
      authz(
        `/authz/${limited.slug}`,
        traefik({ method: "GET", uri: "/" }, { Origin: APP, "X-Forwarded-For": address }),
      );
    expect((await ask("198.51.100.20")).status).toBe(200);
    expect((await ask("198.51.100.20")).status).toBe(200);
    const third = await ask("198.51.100.20");
    expect(third.status).toBe(403);
    expect(third.headers["x-origingate-reason"]).toBe("rate_limited");
    // Another client behind the same proxy has its own budget.
    expect((await ask("198.51.100.21")).status).toBe(200);
  });

  it("tokens: 401 token_missing / token_invalid, 200 with a valid access_token in the original URI", async () => {
    const ws = (uri: string) =>
      authz(`/authz/${tokenTenant.slug}`, traefik({ method: "GET", uri }, { Origin: APP, "Sec-WebSocket-Key": KEY }));
    const missing = await ws("/socket");
    expect(missing.status).toBe(401);
    expect(missing.headers["x-origingate-reason"]).toBe("token_missing");
    expect((await ws("/socket?access_token=garbage")).status).toBe(401);
    const token = signHandshakeToken(
      { aud: tokenTenant.slug, exp: Math.floor(Date.now() / 1000) + 60 },
      tokenTenant.tokenSecret,
    );
    expect((await ws(`/socket?access_token=${token}`)).status).toBe(200);
  });

  it("report-only: a refused origin passes with X-OriginGate-Decision: report_only", async () => {
    const answer = await authz(`/authz/${reportOnly.slug}`, traefik({ method: "GET", uri: "/" }, { Origin: EVIL }));
    expect(answer.status).toBe(200);
    expect(answer.headers["x-origingate-decision"]).toBe("report_only");
    expect(answer.headers["x-origingate-reason"]).toBe("origin_not_allowed");
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("503 only while the gateway is not ready (proxies fail closed)", async () => {
    const notReady = new Gateway({
      databaseUrl: "postgres://postgres@127.0.0.1:1/none",
      logger: createLogger({ name: "not-ready", level: "silent" }),
      host: "127.0.0.1",
      dashboardUrl: "http://localhost:3000",
      drainTimeoutMs: 100,
    });
    const { port } = await notReady.start(0);
    try {
      const answer = await new Promise<number>((resolve, reject) =>
        http
          .get(
            `http://127.0.0.1:${port}/authz/${tenant.slug}`,
            { headers: { "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/", Origin: APP } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          )
          .on("error", reject),
      );
      expect(answer).toBe(503);
    } finally {
      await notReady.stop();
    }
  });
});

describe("audit", () => {
  it("records forward-auth decisions via forward_auth, by kind, and folds identical accepted ones", async () => {
    const folded = await createTenant(db, { policy: { origins: [APP] } });
    await eventually(() => gw.gateway.ctx.store.get(folded.slug));
    const ask = () => authz(`/authz/${folded.slug}`, traefik({ method: "GET", uri: "/feed" }, { Origin: APP }));
    for (let i = 0; i < 10; i++) expect((await ask()).status).toBe(200);
    await authz(
      `/authz/${folded.slug}`,
      traefik({ method: "GET", uri: "/ws" }, { Origin: APP, "Sec-WebSocket-Key": KEY }),
    );
    await authz(
      `/authz/${folded.slug}`,
      traefik({ method: "OPTIONS", uri: "/feed" }, { Origin: APP, "Access-Control-Request-Method": "GET" }),
    );
    const rows = await eventually(async () => {
      const r = await query<{ kind: string; via: string; decision: string; total: number; rows: number }>(
        db,
        `select kind, via, decision, sum(count)::int as total, count(*)::int as rows from audit_event
          where tenant = $1 group by kind, via, decision order by kind`,
        [folded.slug],
      );
      const http = r.find((x) => x.kind === "http");
      return http?.total === 10 && r.length === 3 ? r : null;
    }, 10_000);
    expect(rows.map(({ rows: _rows, ...rest }) => rest)).toEqual([
      { kind: "handshake", via: "forward_auth", decision: "accepted", total: 1 },
      { kind: "http", via: "forward_auth", decision: "accepted", total: 10 },
      { kind: "preflight", via: "forward_auth", decision: "accepted", total: 1 },
    ]);
    // Ten identical accepted decisions: the first row at once, the repeats folded into one more.
    expect(rows.find((r) => r.kind === "http")?.rows).toBeLessThanOrEqual(3);
  });
});
