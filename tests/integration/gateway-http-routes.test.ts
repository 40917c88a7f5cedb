/**
 * The gateway's plain-HTTP router (server/gateway/http-routes.ts): every refusal it makes
 * itself carries `X-OriginGate-Reason`, like every other refusal of the gateway (SPEC §4.4,
 * README "Reason codes") — a path it does not serve, a method a route does not serve, an
 * HTTP/1.1 request without Host (RFC 9112 §3.2: 400; Node's own answer would carry no
 * reason), and a handler that throws (fails closed: 503 gateway_unavailable, the error text
 * never sent). Against a real gateway on loopback, and the router on a bare server for the
 * throwing handler.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeRequest } from "../../server/gateway/http-routes";
import { createLogger } from "../../server/log";
import { rawRequest, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway(await createTestDatabase("http_routes"));
});

afterAll(async () => {
  await gw?.stop();
});

describe("the gateway's plain-HTTP refusals carry a reason", () => {
  it.each([
    ["a path it does not serve", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404],
    ["the asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404],
    ["/admin/stream without Upgrade", "GET /admin/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404],
    ["a method the route does not serve", "DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405],
    ["HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400],
    ["HTTP/1.1 without Host, to a tenant path", "GET /t/any/x HTTP/1.1\r\nConnection: close\r\n\r\n", 400],
  ])("%s", async (_name, request, status) => {
    const answer = await rawRequest(gw.port, request);
    expect(answer.status).toBe(status);
    expect(answer.headers["x-origingate-reason"]).toBe("bad_request");
  });

  it("HTTP/1.0 needs no Host; an empty Host is a Host", async () => {
    expect((await rawRequest(gw.port, "GET /healthz HTTP/1.0\r\n\r\n")).status).toBe(200);
    expect((await rawRequest(gw.port, "GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n")).status).toBe(200);
  });
});

describe("a handler that throws", () => {
  it("fails closed: 503 gateway_unavailable, the error's text never sent", async () => {
    const routes = [
      {
        path: "/boom",
        methods: ["GET"],
        handle: () => {
          throw new Error("secret internal detail");
        },
      },
    ];
    const logger = createLogger({ name: "test-routes", level: "silent" });
    const server = http.createServer((req, res) => void routeRequest(routes, req, res, logger));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const answer = await rawRequest(
        (server.address() as AddressInfo).port,
        "GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      expect(answer.status).toBe(503);
      expect(answer.headers["x-origingate-reason"]).toBe("gateway_unavailable");
      expect(answer.raw).not.toContain("secret internal detail");
    } finally {
      server.close();
    }
  });
});
