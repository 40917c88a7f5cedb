/**
 * The dashboard's tester routes (`POST /api/v1/tester/*`) when the gateway behind
 * GATEWAY_INTERNAL_URL fails, through the real route handler (apiRoute with a real API token,
 * real Postgres) against a real HTTP server standing in for the gateway:
 *  - it closes the connection without answering → 502 gateway_unavailable;
 *  - it answers without JSON → 502 gateway_unavailable;
 *  - it refuses the dashboard's admin token (401) → 502 gateway_auth_failed, never a 401
 *    (that would send a signed-in user back to the login page);
 *  - any other answer of the gateway is passed on with its status and body.
 * Each answer has the API's error shape `{ error: { code, message } }` and nothing else.
 * (No answer in time → 504 gateway_timeout waits the route's full 20 s and is not run here.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { createApiToken } from "../../server/domain/tokens/create-api-token";
import { createTestDatabase } from "../helpers/test-db";

type Stub = (req: IncomingMessage, res: ServerResponse) => void;

let db: PrismaClient;
let gateway: Server;
let stub: Stub = (_req, res) => res.end();
let seen: IncomingMessage[] = [];
let token: string;
let routes: Record<
  string,
  { POST: (request: Request, context: { params: Promise<Record<string, never>> }) => Promise<Response> }
>;

beforeAll(async () => {
  const url = await createTestDatabase("tester_errors");
  gateway = createServer((req, res) => {
    seen.push(req);
    stub(req, res);
  });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  // app/_lib reads its configuration once, from here.
  process.env.DATABASE_URL = url;
  process.env.GATEWAY_INTERNAL_URL = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  db = createPrisma(url);
  ({ token } = await createApiToken({ db, input: { name: "tester ci", role: "editor" }, createdById: null }));
  routes = {
    handshake: await import("../../app/api/v1/tester/handshake/route"),
    scan: await import("../../app/api/v1/tester/scan/route"),
    cors: await import("../../app/api/v1/tester/cors/route"),
  };
});

afterAll(async () => {
  await db?.$disconnect();
  gateway?.closeAllConnections();
  await new Promise((resolve) => gateway?.close(resolve));
});

const INPUT = {
  handshake: { tenant: "demo", path: "/chat", origin: "https://app.example.com" },
  scan: { tenant: "demo", path: "/chat" },
  cors: { tenant: "demo", path: "/api", origin: "https://app.example.com" },
} as const;

async function call(run: keyof typeof INPUT): Promise<{ status: number; body: unknown }> {
  seen = [];
  const response = await routes[run]!.POST(
    new Request(`http://localhost:3000/api/v1/tester/${run}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(INPUT[run]),
    }),
    { params: Promise.resolve({}) },
  );
  return { status: response.status, body: await response.json() };
}

function error(code: string, message: RegExp) {
  return { error: { code: expect.stringMatching(new RegExp(`^${code}$`)), message: expect.stringMatching(message) } };
}

describe("tester routes when the gateway fails", () => {
  it("a gateway that closes the connection without answering: 502 gateway_unavailable", async () => {
    stub = (req) => req.socket.destroy();
    for (const run of ["handshake", "scan", "cors"] as const) {
      const { status, body } = await call(run);
      expect(seen.map((r) => r.url)).toEqual([`/admin/tester/${run}`]);
      expect(status).toBe(502);
      expect(body).toStrictEqual(error("gateway_unavailable", /cannot be reached \(GATEWAY_INTERNAL_URL\)$/));
    }
  });

  it("a gateway that answers without JSON: 502 gateway_unavailable, naming its status", async () => {
    stub = (_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<html>proxy page</html>");
    const { status, body } = await call("handshake");
    expect(status).toBe(502);
    expect(body).toStrictEqual(error("gateway_unavailable", /answered 200 without JSON$/));
  });

  it("a gateway that refuses the admin token: 502 gateway_auth_failed, not 401", async () => {
    stub = (_req, res) =>
      res
        .writeHead(401, { "Content-Type": "application/json" })
        .end(JSON.stringify({ error: { code: "unauthorized", message: "bad admin token" } }));
    const { status, body } = await call("scan");
    expect(seen[0]?.headers.authorization).toMatch(/^Bearer \S+$/);
    expect(status).toBe(502);
    expect(body).toStrictEqual(error("gateway_auth_failed", /same database\?$/));
  });

  it("any other answer of the gateway is passed on as it came", async () => {
    const refusal = { error: { code: "target_not_registered", message: "register it first" } };
    stub = (_req, res) => res.writeHead(403, { "Content-Type": "application/json" }).end(JSON.stringify(refusal));
    expect(await call("cors")).toStrictEqual({ status: 403, body: refusal });
  });
});
