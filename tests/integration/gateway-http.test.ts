/**
 * HTTP and Server-Sent Events through the gateway (SPEC §4.6, §5): a real gateway in front
 * of a real upstream (HTTP + SSE + ws on one server), real Postgres for the policy and the
 * audit trail. Proves the CORS decision is applied (headers, refusals before the upstream,
 * preflights answered and never forwarded), streaming without buffering (SSE events as
 * written, heartbeats, client disconnect closes the upstream stream, backpressure), the
 * bounds (body size 413, upstream timeout 503, request rate 429), hop-by-hop handling and
 * the audit rows (kinds http/preflight, via gateway, folded).
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, query, type TenantFixture, updatePolicy } from "../helpers/fixtures";
import { eventually, rawRequest, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { sseReader, startUpstream, type Upstream } from "../helpers/upstreams";

const APP = "https://app.example.com";
const EVIL = "https://app.example.com.evil.net";

let db: string;
let gw: TestGateway;
let upstream: Upstream;
let tenant: TenantFixture;
let credentialed: TenantFixture;
let echoOnly: TenantFixture;
let limited: TenantFixture;
let dead: TenantFixture;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.httpUrl}${path}`, { method: options.method ?? "GET", headers: options.headers });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

beforeAll(async () => {
  upstream = await startUpstream({ heartbeatMs: 100 });
  db = await createTestDatabase("gwhttp");
  tenant = await createTenant(db, {
    upstreamUrl: `${upstream.wsUrl}/base`,
    policy: {
      origins: [APP],
      cors: {
        methods: ["GET", "HEAD", "POST", "PUT"],
        allowHeaders: ["x-trace-id"],
        exposeHeaders: ["x-total"],
        maxAgeSeconds: 300,
      },
    },
  });
  credentialed = await createTenant(db, {
    upstreamUrl: upstream.wsUrl,
    policy: { origins: [APP], credentials: "allow", limits: { idleTimeoutSeconds: 1 } },
  });
  echoOnly = await createTenant(db, { policy: { origins: [APP] } });
  limited = await createTenant(db, {
    upstreamUrl: upstream.wsUrl,
    policy: { origins: [APP], limits: { requestsPerMinutePerIp: 3 } },
  });
  dead = await createTenant(db, { upstreamUrl: "ws://127.0.0.1:1", policy: { origins: [APP] } });
  gw = await startGateway(db, { http: { maxBodyBytes: 64 * 1024, upstreamTimeoutMs: 500 }, audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

describe("actual requests", () => {
  it("an allowed origin is proxied with the CORS grant; the upstream's own CORS headers are dropped", async () => {
    const answer = await request(`/t/${tenant.slug}/cors-reflect?x=1&access_token=secret`, {
      headers: { Origin: APP },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers["access-control-allow-credentials"]).toBeUndefined();
    expect(answer.headers["access-control-expose-headers"]).toBe("x-total");
    expect(answer.headers.vary).toBe("Accept-Encoding, Origin");
    expect(answer.headers["x-origingate-decision"]).toBe("allowed");
    const seen = JSON.parse(answer.body) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe("/base/cors-reflect?x=1");
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-origingate-tenant"]).toBe(tenant.slug);
    expect(seen.headers.origin).toBe(APP);
  });

  it("credentials: allow adds Access-Control-Allow-Credentials: true", async () => {
    const answer = await request(`/t/${credentialed.slug}/x`, { headers: { Origin: APP, Cookie: "sid=1" } });
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers["access-control-allow-credentials"]).toBe("true");
  });

  it("a request without Origin passes without CORS headers (Vary still)", async () => {
    const answer = await request(`/t/${tenant.slug}/plain`);
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    expect(answer.headers.vary).toContain("Origin");
  });

  it("a refused origin is 403 before anything reaches the upstream (a simple cross-site POST does not run)", async () => {
    const before = upstream.count("/refused-post");
    const answer = await request(`/t/${tenant.slug}/refused-post`, {
      method: "POST",
      headers: { Origin: EVIL, "Content-Type": "text/plain", Cookie: "sid=victim" },
      body: "transfer=all",
    });
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe("origin_not_allowed");
    expect(answer.headers["x-origingate-decision"]).toBe("rejected");
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    expect(answer.headers.vary).toBe("Origin");
    expect(upstream.count("/refused-post")).toBe(before);
  });

  it("a method the policy does not list is refused for a CORS request", async () => {
    const answer = await request(`/t/${tenant.slug}/delete-me`, { method: "DELETE", headers: { Origin: APP } });
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe("cors_method_not_allowed");
    expect(upstream.count("/delete-me")).toBe(0);
  });

  it("hop-by-hop headers are not forwarded (RFC 9110 §7.6.1), nor client-set X-OriginGate-*", async () => {
    const answer = await request(`/t/${tenant.slug}/hop`, {
      headers: {
        Origin: APP,
        Connection: "keep-alive, X-Private-Hop",
        "X-Private-Hop": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic abc",
        "X-OriginGate-Tenant": "other-tenant",
        "X-Forwarded-For": "203.0.113.7",
        "X-End-To-End": "kept",
      },
    });
    const seen = JSON.parse(answer.body) as { headers: Record<string, string> };
    expect(seen.headers["x-private-hop"]).toBeUndefined();
    expect(seen.headers["keep-alive"]).toBeUndefined();
    expect(seen.headers["proxy-authorization"]).toBeUndefined();
    expect(seen.headers["x-origingate-tenant"]).toBe(tenant.slug);
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-end-to-end"]).toBe("kept");
  });

  it.each(["/../secret", "/%2e%2e/secret", "/a/%2E%2e/%2e%2E/other-tenant", "/a%2fb", "/a%5cb", "/%252e%252e/x"])(
    "a path that would leave the upstream's base is 400 bad_request and never forwarded: %s",
    async (rest) => {
      const before = upstream.seen.length;
      // Raw bytes: an HTTP client would normalise the dot segments away before sending.
      const answer = await rawRequest(
        gw.port,
        `GET /t/${tenant.slug}${rest} HTTP/1.1\r\nHost: x\r\nOrigin: ${APP}\r\nConnection: close\r\n\r\n`,
      );
      expect(answer.status).toBe(400);
      expect(answer.headers["x-origingate-reason"]).toBe("bad_request");
      expect(upstream.seen.length).toBe(before);
    },
  );

  it("a tenant without an upstream answers a plain GET with 426; an unknown tenant is 404", async () => {
    const plain = await request(`/t/${echoOnly.slug}/x`, { headers: { Origin: APP } });
    expect(plain.status).toBe(426);
    const unknown = await request("/t/no-such-tenant-xyz/x", { headers: { Origin: APP } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers["x-origingate-reason"]).toBe("tenant_unknown");
  });
});

describe("preflights", () => {
  it("an allowed preflight is answered 204 by the gateway and never forwarded", async () => {
    const before = upstream.seen.length;
    const answer = await request(`/t/${tenant.slug}/api`, {
      method: "OPTIONS",
      headers: { Origin: APP, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "X-Trace-Id" },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers["access-control-allow-methods"]).toBe("GET, HEAD, POST, PUT");
    expect(answer.headers["access-control-allow-headers"]).toBe("x-trace-id");
    expect(answer.headers["access-control-max-age"]).toBe("300");
    expect(answer.headers.vary).toContain("Origin");
    expect(upstream.seen.length).toBe(before);
  });

  it.each([
    [
      "a header the policy does not list",
      { "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-other" },
      "cors_header_not_allowed",
    ],
    [
      "Authorization, not named",
      { "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
      "cors_header_not_allowed",
    ],
    ["a method the policy does not list", { "Access-Control-Request-Method": "DELETE" }, "cors_method_not_allowed"],
    ["a method in the wrong case", { "Access-Control-Request-Method": "put" }, "cors_method_not_allowed"],
  ])("refused: %s", async (_name, headers, reason) => {
    const before = upstream.seen.length;
    const answer = await request(`/t/${tenant.slug}/api`, { method: "OPTIONS", headers: { Origin: APP, ...headers } });
    expect(answer.status).toBe(403);
    expect(answer.headers["x-origingate-reason"]).toBe(reason);
    expect(answer.headers["access-control-max-age"]).toBeUndefined();
    expect(upstream.seen.length).toBe(before);
  });
});

describe("Server-Sent Events", () => {
  it("events arrive as the upstream writes them, heartbeats pass, a client that leaves closes the upstream stream", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        `${gw.httpUrl}/t/${tenant.slug}/events/sse`,
        { headers: { Origin: APP, Accept: "text/event-stream" } },
        resolve,
      );
      req.on("error", reject);
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
    // The upstream's `*` + credentials (the Gin bug) never reaches the browser.
    expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    const reader = sseReader(res);
    await eventually(() => upstream.streams.size > 0);
    for (const n of [1, 2, 3]) {
      upstream.emit(`event ${n}`);
      // Each event is read before the next one is written: nothing waits for a buffer to fill.
      expect(await reader.next()).toBe(`event ${n}`);
    }
    await eventually(() => reader.comments >= 3); // ": open" and heartbeats
    const closedBefore = upstream.closedStreams;
    res.destroy();
    await eventually(() => upstream.closedStreams > closedBefore);
  });

  it("an event stream has an idle timeout, not a size limit: heartbeats keep it open past the body limit", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`${gw.httpUrl}/t/${credentialed.slug}/sse`, { headers: { Origin: APP } }, resolve),
    );
    const reader = sseReader(res);
    await eventually(() => upstream.streams.size > 0);
    // More than maxBodyBytes (64 KiB) of events, over longer than the 1 s idle timeout.
    const big = "x".repeat(16 * 1024);
    for (let i = 0; i < 8; i++) {
      upstream.emit(big);
      expect(await reader.next()).toBe(big);
    }
    await eventually(() => reader.comments >= 15, 5000); // heartbeats every 100 ms > 1 s
    expect(res.destroyed).toBe(false);
    res.destroy();
  });
});

describe("bounds", () => {
  it("a declared body over HTTP_MAX_BODY_BYTES is 413 before the upstream is contacted", async () => {
    const before = upstream.count("/upload-declared");
    const answer = await request(`/t/${tenant.slug}/upload-declared`, {
      method: "POST",
      headers: { Origin: APP, "Content-Type": "text/plain" },
      body: Buffer.alloc(65 * 1024),
    });
    expect(answer.status).toBe(413);
    expect(answer.headers["x-origingate-reason"]).toBe("bad_request");
    expect(upstream.count("/upload-declared")).toBe(before);
  });

  it("a chunked body is cut at the limit (413), a smaller one goes through whole", async () => {
    const small = await request(`/t/${tenant.slug}/upload-ok`, {
      method: "POST",
      headers: { Origin: APP, "Transfer-Encoding": "chunked" },
      body: Buffer.alloc(32 * 1024),
    });
    expect(small.status).toBe(200);
    expect((JSON.parse(small.body) as { bodyBytes: number }).bodyBytes).toBe(32 * 1024);
    const big = await request(`/t/${tenant.slug}/upload-chunked`, {
      method: "POST",
      headers: { Origin: APP, "Transfer-Encoding": "chunked" },
      body: Buffer.alloc(256 * 1024),
    }).catch(() => ({ status: 413, headers: {}, body: "" }) as Answer);
    expect(big.status).toBe(413);
  });

  it("an upstream that does not answer in HTTP_UPSTREAM_TIMEOUT_MS is 503 upstream_unavailable", async () => {
    const answer = await request(`/t/${tenant.slug}/slow`, { headers: { Origin: APP } });
    expect(answer.status).toBe(503);
    expect(answer.headers["x-origingate-reason"]).toBe("upstream_unavailable");
  });

  it("an upstream that refuses connections is 503 upstream_unavailable", async () => {
    const answer = await request(`/t/${dead.slug}/x`, { headers: { Origin: APP } });
    expect(answer.status).toBe(503);
    expect(answer.headers["x-origingate-reason"]).toBe("upstream_unavailable");
  });

  it("limits.requestsPerMinutePerIp: 429 past the budget", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await request(`/t/${limited.slug}/r${i}`, { headers: { Origin: APP } })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it("backpressure: a client that does not read stalls the upstream instead of filling the gateway's memory", async () => {
    // Far more than every socket buffer on the way (loopback autotuning tops out at a few MiB each).
    const total = 96 * 1024 * 1024;
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`${gw.httpUrl}/t/${tenant.slug}/bytes?n=${total}`, { headers: { Origin: APP } }, resolve),
    );
    res.pause();
    // Wait until the upstream's writer has been stalled on 'drain' for two polls in a row.
    let last = -1;
    await eventually(
      () => {
        const stalled = upstream.bytes.blocked && upstream.bytes.sent === last;
        last = upstream.bytes.sent;
        return stalled;
      },
      20_000,
      200,
    );
    expect(upstream.bytes.sent).toBeLessThan(total / 3);
    let received = 0;
    res.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    res.resume();
    await new Promise((resolve) => res.on("end", resolve));
    expect(received).toBe(total);
  }, 120_000);
});

describe("policy changes and audit", () => {
  it("a policy change applies to the next request", async () => {
    const fresh = await createTenant(db, { upstreamUrl: upstream.wsUrl, policy: { origins: [APP] } });
    await eventually(async () => (await request(`/t/${fresh.slug}/x`, { headers: { Origin: APP } })).status === 200);
    await updatePolicy(db, fresh.id, { origins: ["https://other.example.com"] });
    await eventually(async () => (await request(`/t/${fresh.slug}/x`, { headers: { Origin: APP } })).status === 403);
  });

  it("records http and preflight events (via gateway) and folds identical ones", async () => {
    const folded = await createTenant(db, { upstreamUrl: upstream.wsUrl, policy: { origins: [APP] } });
    await eventually(async () => (await request(`/t/${folded.slug}/a`, { headers: { Origin: APP } })).status === 200);
    for (let i = 0; i < 4; i++) await request(`/t/${folded.slug}/a`, { headers: { Origin: APP } });
    for (let i = 0; i < 3; i++) await request(`/t/${folded.slug}/a`, { headers: { Origin: EVIL } });
    await request(`/t/${folded.slug}/a`, {
      method: "OPTIONS",
      headers: { Origin: APP, "Access-Control-Request-Method": "GET" },
    });
    const rows = await eventually(async () => {
      const r = await query<{ kind: string; via: string; decision: string; reason: string; total: number }>(
        db,
        `select kind, via, decision, reason, sum(count)::int as total from audit_event
          where tenant = $1 and reason <> 'tenant_unknown'
          group by kind, via, decision, reason order by kind, decision`,
        [folded.slug],
      );
      const accepted = r.find((x) => x.kind === "http" && x.decision === "accepted");
      return accepted?.total === 5 &&
        r.some((x) => x.kind === "preflight") &&
        r.some((x) => x.decision === "rejected" && x.total === 3)
        ? r
        : null;
    }, 10_000);
    expect(rows).toEqual([
      { kind: "http", via: "gateway", decision: "accepted", reason: "allowed", total: 5 },
      { kind: "http", via: "gateway", decision: "rejected", reason: "origin_not_allowed", total: 3 },
      { kind: "preflight", via: "gateway", decision: "accepted", reason: "allowed", total: 1 },
    ]);
    // And counted in the metrics, by via, kind, decision and reason.
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain(
      `origingate_http_requests_total{tenant="${folded.slug}",via="gateway",kind="preflight",decision="accepted",reason="allowed"} 1`,
    );
    // Folded: fewer rows than requests.
    const [counted] = await query<{ rows: number }>(
      db,
      "select count(*)::int as rows from audit_event where tenant = $1 and reason <> 'tenant_unknown'",
      [folded.slug],
    );
    expect(counted?.rows).toBeLessThan(9);
  });
});
