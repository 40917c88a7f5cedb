/**
 * Upstream path traversal (issue 11 item 3, SPEC §5), against a real gateway and a real
 * upstream `ws` server that records every request it gets: with the tenant upstream at
 * `ws://127.0.0.1:<port>/tenant-a`, `/t/up/../secret` used to reach the upstream as
 * `/secret` and `/t/up/%2e%2e/%2e%2e/other-tenant/admin` as `/other-tenant/admin`. Now
 * every such handshake is refused with 400 `bad_handshake` before the upstream is
 * contacted, accepted paths are joined under `/tenant-a`, and `access_token` /
 * `bearer.*` never reach the upstream. The handshake tester had the same class: a path of
 * `/%2e%2e/%2e%2e/admin/stream` reached the gateway's admin stream; it is refused (422).
 * Raw TCP requests: a WebSocket client library would normalize these paths itself.
 */
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { signHandshakeToken } from "../../server/policy";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { eventually, startGateway, type TestGateway, upgradeRequest } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { callTester } from "./tester-helpers";

const ORIGIN = "https://app.example.com";

let db: string;
let gw: TestGateway;
let upstream: WebSocketServer;
let up: TenantFixture;
let tokens: TenantFixture;
const seen: Array<{ url: string; protocol: string | undefined }> = [];

beforeAll(async () => {
  upstream = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    handleProtocols: (p) => (p.has("chat") ? "chat" : false),
  });
  await new Promise((r) => upstream.once("listening", r));
  upstream.on("connection", (ws, req: IncomingMessage) => {
    seen.push({ url: req.url ?? "", protocol: req.headers["sec-websocket-protocol"] as string | undefined });
    ws.on("message", (data) => ws.send(data));
  });
  const port = (upstream.address() as AddressInfo).port;
  db = await createTestDatabase("gwpath");
  up = await createTenant(db, { upstreamUrl: `ws://127.0.0.1:${port}/tenant-a`, policy: { origins: [ORIGIN] } });
  tokens = await createTenant(db, {
    upstreamUrl: `ws://127.0.0.1:${port}/tenant-a`,
    policy: { origins: [ORIGIN], token: "required" },
  });
  gw = await startGateway(db);
});

afterAll(async () => {
  await gw?.stop();
  for (const c of upstream?.clients ?? []) c.terminate();
  await new Promise((r) => upstream?.close(r));
});

/** Sends a raw upgrade and reads the status line; a 101 is read as it arrives (the socket stays open). */
function rawUpgrade(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; reason: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, "127.0.0.1");
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const end = data.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = data.slice(0, end);
      const reason = /\r\nx-origingate-reason: ([^\r]*)/i.exec(head)?.[1] ?? null;
      socket.destroy();
      resolve({ status: Number(head.split(" ")[1]), reason });
    });
    socket.on("error", reject);
    socket.write(upgradeRequest(path, { Origin: ORIGIN, ...headers }));
  });
}

describe("the upstream never sees a path outside its base", () => {
  const attacks = [
    "/../secret",
    "/%2e%2e/%2e%2e/other-tenant/admin",
    "/%2E%2E/%2e%2E/other-tenant/admin",
    "/room/../../secret",
    "/./secret",
    "/.%2e/secret",
    "/%252e%252e/secret",
    "/..;/secret",
    "/room%2f..%2f..%2fsecret",
    "/room%5c..%5csecret",
    "/room\\..\\..\\secret",
    "/%2e%2e",
    "/..?x=1",
  ];

  for (const rest of attacks) {
    it(`${rest} → 400 bad_handshake, upstream not contacted`, async () => {
      const before = seen.length;
      const res = await rawUpgrade(`/t/${up.slug}${rest}`);
      expect([res.status, res.reason]).toEqual([400, "bad_handshake"]);
      // A control handshake right after proves the upstream was reachable all along.
      const control = await rawUpgrade(`/t/${up.slug}/control`);
      expect(control.status).toBe(101);
      await eventually(() => seen.length === before + 1);
      expect(seen.slice(before).map((s) => s.url)).toEqual(["/tenant-a/control"]);
    });
  }

  it("every request the upstream ever received lies under /tenant-a", () => {
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen)
      expect(s.url === "/tenant-a" || s.url.startsWith("/tenant-a/") || s.url.startsWith("/tenant-a?")).toBe(true);
  });

  it("refusals are audited as bad_handshake of the tenant", async () => {
    const rows = await eventually(async () => {
      const r = await query<{ n: number }>(
        db,
        "select sum(count)::int as n from audit_event where tenant = $1 and reason = 'bad_handshake'",
        [up.slug],
      );
      return (r[0]?.n ?? 0) >= attacks.length ? r : null;
    });
    expect(rows[0]!.n).toBe(attacks.length);
  });

  it("accepted paths are joined under the base; dotted names that are not dot segments pass", async () => {
    for (const [rest, expected] of [
      ["", "/tenant-a"],
      ["/room/7", "/tenant-a/room/7"],
      ["/room/..data/...", "/tenant-a/room/..data/..."],
      ["?q=1", "/tenant-a?q=1"],
    ] as const) {
      const before = seen.length;
      const res = await rawUpgrade(`/t/${up.slug}${rest}`);
      expect(res.status).toBe(101);
      await eventually(() => seen.length === before + 1);
      expect(seen.at(-1)!.url).toBe(expected);
    }
  });

  it("access_token (in any spelling of its name) and bearer.* entries never reach the upstream", async () => {
    const jwt = signHandshakeToken({ aud: tokens.slug, exp: Math.floor(Date.now() / 1000) + 60 }, tokens.tokenSecret);
    const before = seen.length;
    const res = await rawUpgrade(`/t/${tokens.slug}/room?a=1&access%5Ftoken=${jwt}&b=2`, {
      "Sec-WebSocket-Protocol": "chat",
    });
    expect(res.status).toBe(101);
    const viaProtocol = await rawUpgrade(`/t/${tokens.slug}/room?c=3`, {
      "Sec-WebSocket-Protocol": `chat, bearer.${jwt}`,
    });
    expect(viaProtocol.status).toBe(101);
    await eventually(() => seen.length === before + 2);
    expect(seen.slice(before)).toEqual([
      { url: "/tenant-a/room?a=1&b=2", protocol: "chat" },
      { url: "/tenant-a/room?c=3", protocol: "chat" },
    ]);
    for (const s of seen) expect(`${s.url} ${s.protocol}`).not.toContain(jwt.split(".")[2]!);
  });
});

describe("the handshake tester's path follows the same rule", () => {
  it.each([
    "/%2e%2e/%2e%2e/admin/stream",
    "/%2E%2E/%2E%2E/admin/stream",
    "/.%2e/.%2e/admin/stream",
    "/%252e%252e/%252e%252e/admin/stream",
    "/x%2f..%2f..%2fadmin/stream",
    "/../admin/stream",
  ])("%s is refused (422) for a handshake and a scan", async (path) => {
    const res = await callTester<{ error: { code: string; details: Array<{ path: string }> } }>(gw, "handshake", {
      tenant: up.slug,
      path,
      origin: ORIGIN,
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.map((d) => d.path)).toContain("path");
    const scan = await callTester<{ error: { code: string } }>(gw, "scan", { tenant: up.slug, path });
    expect(scan.status).toBe(422);
  });
});
