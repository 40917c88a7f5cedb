/**
 * A `wss://` upstream through the raw relay (issue 19 item 3): a gateway process trusting a
 * private CA (NODE_EXTRA_CA_CERTS, as a deployment would), a TLS `ws` upstream with a
 * certificate from it, messages and the negotiated subprotocol through, TLS sessions
 * resumed across connections (seen by the upstream: `isSessionReused()`), and an upstream
 * whose certificate the gateway does not trust refused with 503 before any upgrade.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { createTenant } from "../helpers/fixtures";
import { eventually, handshake, nextMessage, type ProcessGateway, spawnGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";

let dir: string;
let db: string;
let gw: ProcessGateway;
let server: https.Server;
let port: number;
const resumed: boolean[] = [];
const seen: Array<{ url: string; protocol: string }> = [];

function selfSigned(name: string): { key: Buffer; cert: string; file: string } {
  const key = path.join(dir, `${name}-key.pem`);
  const file = path.join(dir, `${name}-cert.pem`);
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", file],
    ],
    { stdio: "ignore" },
  );
  return { key: readFileSync(key), cert: readFileSync(file, "utf8"), file };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "og-wss-upstream-"));
  const trusted = selfSigned("trusted");
  server = https.createServer({ key: trusted.key, cert: trusted.cert });
  server.on("secureConnection", (socket: TLSSocket) => resumed.push(socket.isSessionReused()));
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has("chat.v1") ? "chat.v1" : false),
  });
  wss.on("connection", (ws, req) => {
    seen.push({ url: req.url ?? "", protocol: ws.protocol });
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as AddressInfo).port;
  db = await createTestDatabase("wssup");
  gw = await spawnGateway(db, { NODE_EXTRA_CA_CERTS: trusted.file });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe("wss:// upstream", () => {
  it("relays messages, negotiates the subprotocol, and resumes TLS sessions", async () => {
    const tenant = await createTenant(db, {
      upstreamUrl: `wss://127.0.0.1:${port}/secure`,
      policy: { origins: [ORIGIN] },
    });
    const open = async () => {
      const outcome = await eventually(async () => {
        const o = await handshake(`${gw.wsUrl}/t/${tenant.slug}/room?x=1`, { origin: ORIGIN, protocols: ["chat.v1"] });
        return o.status === 404 ? null : o; // until the gateway process knows the tenant
      }, 15_000);
      expect(outcome.status).toBe(101);
      return outcome.ws!;
    };
    const first = await open();
    expect(first.protocol).toBe("chat.v1");
    first.send("over tls");
    expect((await nextMessage(first)).data.toString()).toBe("over tls");
    expect(seen.at(-1)).toEqual({ url: "/secure/room?x=1", protocol: "chat.v1" });
    // Later connections to the same upstream resume the session (the ticket of TLS 1.3
    // arrives after the first handshake, so one of the next few must resume).
    const more = [];
    for (let i = 0; i < 4 && !resumed.includes(true); i++) {
      more.push(await open());
      await eventually(() => resumed.length >= 2 + i);
    }
    expect(resumed[0]).toBe(false);
    expect(resumed).toContain(true);
    for (const ws of [first, ...more]) ws.close();
  }, 30_000);

  it("an upstream whose certificate is not trusted is unavailable (503), never upgraded", async () => {
    const untrusted = selfSigned("untrusted");
    const rogue = https.createServer({ key: untrusted.key, cert: untrusted.cert });
    new WebSocketServer({ server: rogue });
    await new Promise<void>((r) => rogue.listen(0, "127.0.0.1", () => r()));
    const tenant = await createTenant(db, {
      upstreamUrl: `wss://127.0.0.1:${(rogue.address() as AddressInfo).port}/`,
      policy: { origins: [ORIGIN] },
    });
    const outcome = await eventually(async () => {
      const o = await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: ORIGIN });
      return o.status === 404 ? null : o;
    }, 15_000);
    expect([outcome.status, outcome.reason]).toEqual([503, "upstream_unavailable"]);
    rogue.closeAllConnections();
    await new Promise((r) => rogue.close(r));
  }, 30_000);
});
