/**
 * Forward auth through real proxies (SPEC §5.1): nginx `auth_request`, Caddy `forward_auth`
 * (expanded reverse_proxy form) and HAProxy with our Lua action, each from Debian's package,
 * started on a free port with the configuration shipped in docs/deploy/ (only placeholders
 * filled in), in front of a real upstream that is at once a `ws` server, an HTTP server and
 * an SSE server. A real gateway answers `/authz/<slug>` from a real Postgres.
 *
 * For every proxy: an allowed origin passes (HTTP, WebSocket upgrade, SSE stream) with the
 * policy's CORS headers on the response and the application's own dropped; a refused one
 * gets the proxy's 403 and the upstream sees nothing; preflights are answered at the proxy
 * from the authorization answer and never reach the upstream; a policy change applies
 * without touching the proxy; the client address reaches the gateway per TRUST_PROXY.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { parseTrustProxy } from "../../server/net/client-address";
import { createTenant, query, type TenantFixture, updatePolicy } from "../helpers/fixtures";
import { eventually, startGateway, type TestGateway } from "../helpers/gateway";
import { type ProxyKind, type RunningProxy, startProxy } from "../helpers/proxies";
import { createTestDatabase } from "../helpers/test-db";
import { sseReader, startUpstream, type Upstream } from "../helpers/upstreams";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.net";
const POLICY = {
  origins: [APP],
  credentials: "allow" as const,
  cors: {
    methods: ["GET", "HEAD", "POST", "PUT"],
    allowHeaders: ["x-trace-id"],
    exposeHeaders: ["x-total"],
    maxAgeSeconds: 321,
  },
};

let db: string;
let gw: TestGateway;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream({ heartbeatMs: 200 });
  db = await createTestDatabase("proxies");
  // The proxies append the client address to X-Forwarded-For: one trusted hop.
  gw = await startGateway(db, { trustProxy: parseTrustProxy("1"), audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method: options.method ?? "GET",
      headers: options.headers,
      localAddress: options.localAddress,
      agent: false,
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function openSocket(url: string, origin: string): Promise<{ status: number; ws: WebSocket | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Origin: origin } });
    ws.once("open", () => resolve({ status: 101, ws }));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ status: res.statusCode ?? 0, ws: null });
    });
    ws.once("error", (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

describe.each<ProxyKind>(["nginx", "caddy", "haproxy"])("%s in front of a ws + HTTP + SSE upstream", (kind) => {
  let proxy: RunningProxy;
  let tenant: TenantFixture;
  const tag = `/${kind}`;

  beforeAll(async () => {
    tenant = await createTenant(db, { policy: POLICY });
    await eventually(() => gw.gateway.ctx.store.get(tenant.slug));
    proxy = await startProxy(kind, {
      gateway: `127.0.0.1:${gw.port}`,
      upstream: `127.0.0.1:${upstream.port}`,
      tenant: tenant.slug,
    });
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  it("an allowed origin passes, with the policy's CORS headers (the application's own dropped)", async () => {
    const answer = await request(proxy.httpUrl, `${tag}/cors-reflect?q=1`, {
      headers: { Origin: APP, Cookie: "sid=1" },
    });
    expect(answer.status, proxy.log()).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers["access-control-allow-credentials"]).toBe("true");
    expect(answer.headers["access-control-expose-headers"]).toBe("x-total");
    expect(answer.headers.vary).toContain("Origin");
    const seen = JSON.parse(answer.body) as { url: string; method: string };
    expect(seen).toMatchObject({ url: `${tag}/cors-reflect?q=1`, method: "GET" });
  });

  it("a refused origin gets the proxy's 403 and the upstream sees nothing", async () => {
    const before = upstream.count(`${tag}/refused`);
    const answer = await request(proxy.httpUrl, `${tag}/refused`, {
      method: "POST",
      headers: { Origin: EVIL, "Content-Type": "text/plain" },
      body: "x=1",
    });
    expect(answer.status).toBe(403);
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    expect(upstream.count(`${tag}/refused`)).toBe(before);
  });

  it("an allowed POST reaches the application with its whole body (the subrequest does not consume it)", async () => {
    const body = "x".repeat(100_000);
    const answer = await request(proxy.httpUrl, `${tag}/post-body`, {
      method: "POST",
      headers: { Origin: APP, "Content-Type": "text/plain" },
      body,
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ method: "POST", bodyBytes: body.length });
  });

  it("a request without Origin passes without CORS headers", async () => {
    const answer = await request(proxy.httpUrl, `${tag}/no-origin`);
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("WebSocket: an allowed origin upgrades and echoes; a refused one gets 403 and never reaches the upstream", async () => {
    const allowed = await openSocket(`${proxy.wsUrl}${tag}/socket`, APP);
    expect(allowed.status, proxy.log()).toBe(101);
    const echoed = new Promise<string>((resolve) => allowed.ws!.once("message", (data) => resolve(data.toString())));
    allowed.ws!.send("ping through the proxy");
    expect(await echoed).toBe("ping through the proxy");
    allowed.ws!.close();
    const before = upstream.count(`${tag}/socket-refused`);
    const refused = await openSocket(`${proxy.wsUrl}${tag}/socket-refused`, EVIL);
    expect(refused.status).toBe(403);
    expect(upstream.count(`${tag}/socket-refused`)).toBe(before);
  });

  it("SSE: an allowed origin streams events as written; a refused one never opens a stream", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .get(
          `${proxy.httpUrl}${tag}/events/sse`,
          { headers: { Origin: APP, Accept: "text/event-stream" }, agent: false },
          resolve,
        )
        .on("error", reject),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
    const reader = sseReader(res);
    await eventually(() => [...upstream.streams].length > 0);
    for (const n of [1, 2]) {
      upstream.emit(`${kind} event ${n}`);
      expect(await reader.next()).toBe(`${kind} event ${n}`);
    }
    res.destroy();
    const before = upstream.count(`${tag}/events-refused/sse`);
    const refused = await request(proxy.httpUrl, `${tag}/events-refused/sse`, { headers: { Origin: EVIL } });
    expect(refused.status).toBe(403);
    expect(upstream.count(`${tag}/events-refused/sse`)).toBe(before);
  });

  it("preflights are answered at the proxy from the authorization answer and never reach the upstream", async () => {
    const before = upstream.seen.length;
    const ok = await request(proxy.httpUrl, `${tag}/api`, {
      method: "OPTIONS",
      headers: { Origin: APP, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-trace-id" },
    });
    expect(ok.status, proxy.log()).toBe(204);
    expect(ok.headers["access-control-allow-origin"]).toBe(APP);
    expect(ok.headers["access-control-allow-credentials"]).toBe("true");
    expect(ok.headers["access-control-allow-methods"]).toBe("GET, HEAD, POST, PUT");
    expect(ok.headers["access-control-allow-headers"]).toBe("x-trace-id");
    expect(ok.headers["access-control-max-age"]).toBe("321");
    const refused = await request(proxy.httpUrl, `${tag}/api`, {
      method: "OPTIONS",
      headers: {
        Origin: APP,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-not-listed",
      },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    expect(upstream.seen.length).toBe(before);
  });

  it("the client address reaches the gateway per TRUST_PROXY (the proxy's entry, not the client's own)", async () => {
    const answer = await request(proxy.httpUrl, `${tag}/address`, {
      headers: { Origin: APP, "X-Forwarded-For": "203.0.113.9" },
      localAddress: "127.0.0.2",
    });
    expect(answer.status).toBe(200);
    const rows = await eventually(
      () =>
        query<{ remote_addr: string; via: string; kind: string }>(
          db,
          "select remote_addr, via, kind from audit_event where tenant = $1 and path = $2",
          [tenant.slug, `${tag}/address`],
        ).then((r) => (r.length > 0 ? r : null)),
      10_000,
    );
    expect(rows[0]).toEqual({ remote_addr: "127.0.0.2", via: "forward_auth", kind: "http" });
  });

  it("a policy change applies without touching the proxy", async () => {
    const version = await updatePolicy(db, tenant.id, { ...POLICY, origins: ["https://other.example.com"] });
    await eventually(() => gw.gateway.ctx.store.get(tenant.slug)?.version === version);
    const answer = await request(proxy.httpUrl, `${tag}/after-change`, { headers: { Origin: APP } });
    expect(answer.status).toBe(403);
    const socket = await openSocket(`${proxy.wsUrl}${tag}/after-change-socket`, APP);
    expect(socket.status).toBe(403);
    await updatePolicy(db, tenant.id, POLICY);
    await eventually(
      async () => (await request(proxy.httpUrl, `${tag}/restored`, { headers: { Origin: APP } })).status === 200,
    );
  });
});
