/**
 * Helpers of the tester's integration tests: calling the gateway's /admin/tester endpoints
 * with a freshly minted admin token, and small real servers to aim the tester at.
 * (Not a test file itself: vitest only picks up *.test.ts.)
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { WebSocketServer } from "ws";
import { type AdminRole, signAdminToken } from "../../server/admin/admin-token";
import { query } from "../helpers/fixtures";
import type { TestGateway } from "../helpers/gateway";

export interface Caller {
  name?: string;
  role?: AdminRole;
  scope?: "tester" | "stream";
}

export async function callTester<T = Record<string, unknown>>(
  gw: TestGateway,
  run: "handshake" | "scan" | "cors" | "cors-scan",
  body: unknown,
  caller: Caller = {},
): Promise<{ status: number; body: T }> {
  const key = gw.gateway.ctx.adminKey;
  if (!key) throw new Error("admin key not loaded");
  const token = signAdminToken(
    {
      sub: "user-1",
      name: caller.name ?? "alice@example.com",
      role: caller.role ?? "editor",
      scope: caller.scope ?? "tester",
    },
    key,
  );
  const res = await fetch(`${gw.httpUrl}/admin/tester/${run}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export async function registerEndpoint(
  db: string,
  tenantId: string,
  url: string,
  label = "test endpoint",
): Promise<void> {
  await query(
    db,
    "insert into tester_endpoint (id, tenant_id, url, label, created_by) values (gen_random_uuid(), $1, $2, $3, 'test')",
    [tenantId, url, label],
  );
}

/** Writes everything the gateway's audit pipeline holds (fold windows included). */
export async function flushAudit(gw: TestGateway): Promise<void> {
  // A batch already in flight is awaited first; the second call writes what queued meanwhile.
  await gw.gateway.ctx.audit.flush(true);
  await gw.gateway.ctx.audit.flush(true);
}

export interface Listening {
  port: number;
  url: string;
  close(): Promise<void>;
}

function listening(server: http.Server | net.Server, scheme = "ws"): Promise<Listening> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        url: `${scheme}://127.0.0.1:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            if ("closeAllConnections" in server) server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A `ws` server guarded by the naive check found in blog posts: origin.endsWith("example.com"). */
export async function naiveServer(): Promise<Listening & { origins: Array<string | undefined> }> {
  const origins: Array<string | undefined> = [];
  const server = http.createServer();
  const wss = new WebSocketServer({
    server,
    verifyClient: (info: { origin: string }) => {
      const origin = info.origin as string | undefined;
      origins.push(origin);
      return (origin ?? "").endsWith("example.com");
    },
  });
  wss.on("connection", (ws) => ws.on("message", (data) => ws.send(data)));
  const l = await listening(server);
  return {
    ...l,
    origins,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await l.close();
    },
  };
}

/**
 * Upgrades everyone, then closes at once with 1008 — the "check after the upgrade"
 * anti-pattern; with `leak`, it first sends the page a message (what a hijacker reads).
 */
export async function upgradeThenCloseServer(options: { leak?: boolean } = {}): Promise<Listening> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => {
    if (req.headers.origin === "https://app.example.com") return;
    if (options.leak) ws.send(JSON.stringify({ balance: 1234 }));
    ws.close(1008, "origin not allowed");
  });
  const l = await listening(server);
  return {
    ...l,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await l.close();
    },
  };
}

/** Answers every request with `respond`; counts requests. */
export async function httpServer(
  respond: (req: http.IncomingMessage, socket: net.Socket) => void,
): Promise<Listening & { requests: () => number }> {
  let count = 0;
  const server = http.createServer();
  // The tester hangs up on purpose (bounded reads): that is not an error here.
  server.on("connection", (socket: net.Socket) => socket.on("error", () => {}));
  server.on("upgrade", (req, socket) => {
    count += 1;
    respond(req, socket as net.Socket);
  });
  server.on("request", (req, res) => {
    count += 1;
    respond(req, res.socket as net.Socket);
  });
  const l = await listening(server);
  return { ...l, requests: () => count };
}

/** Accepts TCP connections and never says anything. */
export async function hangingServer(): Promise<Listening & { connections: () => number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  const l = await listening(server);
  return {
    ...l,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await l.close();
    },
  };
}
