/**
 * The tester against targets outside this gateway, through the real admin endpoint: an
 * independent `ws` server with the naive `origin.endsWith("example.com")` check (the scan
 * must report exactly the bypasses it lets through), a server that upgrades and then
 * closes with 1008, and the target restrictions — unregistered URLs, redirects (reported,
 * never followed), a hanging server (timeout), oversized answers (bounded), TLS.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { runHandshake } from "../../server/tester/run-handshake";
import type { HandshakeResponse, ScanResponse } from "../../server/tester/types";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import {
  callTester,
  flushAudit,
  hangingServer,
  httpServer,
  type Listening,
  naiveServer,
  registerEndpoint,
  upgradeThenCloseServer,
} from "./tester-helpers";

let db: string;
let gw: TestGateway;
let tenant: TenantFixture;
let other: TenantFixture;
let naive: Awaited<ReturnType<typeof naiveServer>>;
let closer: Listening;
let leaker: Listening;
let redirectTarget: Awaited<ReturnType<typeof httpServer>>;
let redirector: Awaited<ReturnType<typeof httpServer>>;
let hanging: Awaited<ReturnType<typeof hangingServer>>;
let bigHead: Awaited<ReturnType<typeof httpServer>>;
let bigBody: Awaited<ReturnType<typeof httpServer>>;

beforeAll(async () => {
  db = await createTestDatabase("tester_targets");
  tenant = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
  other = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
  naive = await naiveServer();
  closer = await upgradeThenCloseServer();
  leaker = await upgradeThenCloseServer({ leak: true });
  redirectTarget = await httpServer((_req, socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  redirector = await httpServer((_req, socket) =>
    socket.end(`HTTP/1.1 302 Found\r\nLocation: ${redirectTarget.url}elsewhere\r\nContent-Length: 0\r\n\r\n`),
  );
  hanging = await hangingServer();
  bigHead = await httpServer((_req, socket) =>
    socket.end(`HTTP/1.1 403 Forbidden\r\nX-Filler: ${"a".repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`),
  );
  bigBody = await httpServer((_req, socket) =>
    socket.end(
      `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n${"b".repeat(100_000)}`,
    ),
  );
  for (const [server, label] of [
    [naive, "naive endsWith"],
    [closer, "upgrade then close"],
    [leaker, "upgrade, talk, close"],
    [redirector, "redirects"],
    [hanging, "hangs"],
    [bigHead, "big head"],
    [bigBody, "big body"],
  ] as const) {
    await registerEndpoint(db, tenant.id, `${server.url}socket`, label);
  }
  gw = await startGateway(db, { audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  for (const s of [naive, closer, leaker, redirectTarget, redirector, hanging, bigHead, bigBody]) await s?.close();
});

describe("an independent ws server with a naive endsWith check", () => {
  it("accepts a lookalike origin: the handshake shows the upgrade, without a trace", async () => {
    const { status, body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${naive.url}socket`,
      origin: "https://evilapp.example.com",
    });
    expect(status).toBe(200);
    expect(body.status).toBe(101);
    expect(body.upgraded).toBe(true);
    expect(body.closeCode).toBeUndefined();
    expect(body.target).toMatchObject({ kind: "endpoint", tenant: tenant.slug, label: "naive endsWith" });
    expect(body.trace).toBeUndefined();
    expect(body.policyVersion).toBeUndefined();
    expect(naive.origins).toContain("https://evilapp.example.com");
  });

  it("a scan reports exactly the bypasses the naive check lets through", async () => {
    const { status, body } = await callTester<ScanResponse>(gw, "scan", {
      tenant: tenant.slug,
      url: `${naive.url}socket`,
    });
    expect(status).toBe(200);
    const homoglyph = new URL("https://\u0430pp.example.com").origin; // Cyrillic а, in punycode
    expect(body.findings.map((f) => f.origin).sort()).toEqual(
      [
        "http://app.example.com", // scheme downgrade
        "https://evilapp.example.com", // prefixed host
        "https://evil-app.example.com", // hyphen-prefixed host
        "https://appxexample.com", // unescaped dot
        "https://sub.app.example.com", // subdomain of an exact host
        homoglyph,
      ].sort(),
    );
    for (const f of body.findings)
      expect(f).toMatchObject({ expected: "refuse", observed: "allowed", status: 101, finding: true });
    // What the naive check refuses is reported as refused, with the status it answered.
    const suffix = body.results.find((r) => r.origin === "https://app.example.com.evil.net");
    expect(suffix).toMatchObject({ expected: "refuse", observed: "refused", status: 401, finding: false });
    // The control is accepted; the upper-case spelling (allowed by the policy) is refused by the naive check.
    expect(body.results.find((r) => r.origin === "https://app.example.com")).toMatchObject({
      expected: "allow",
      observed: "allowed",
    });
    expect(body.results.find((r) => r.origin === "https://APP.EXAMPLE.COM")).toMatchObject({
      expected: "allow",
      observed: "refused",
      finding: false,
    });
    expect(body.summary).toMatchObject({ findings: 6, mismatches: 1, errors: 0 });
    // Every variant really reached the server (plus the single handshake above).
    expect(naive.origins.length).toBeGreaterThanOrEqual(body.summary.variants);
  });

  it("the same scan against this gateway's tenant reports nothing", async () => {
    const { body } = await callTester<ScanResponse>(gw, "scan", { tenant: tenant.slug });
    expect(body.target.kind).toBe("tenant");
    expect(body.findings).toEqual([]);
    expect(body.summary.errors).toBe(0);
  });
});

describe("a server that upgrades and then closes with 1008", () => {
  it("shows the upgrade and the close code", async () => {
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${closer.url}socket`,
      origin: "https://evil.net",
    });
    expect(body.status).toBe(101);
    expect(body.upgraded).toBe(true);
    expect(body.closeCode).toBe(1008);
    expect(body.closeReason).toBe("origin not allowed");
    const allowed = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${closer.url}socket`,
      origin: "https://app.example.com",
    });
    expect(allowed.body.upgraded).toBe(true);
    expect(allowed.body.closeCode).toBeUndefined();
  });

  it("a scan counts upgrade-then-close as refused, and says so", async () => {
    const { body } = await callTester<ScanResponse>(gw, "scan", { tenant: tenant.slug, url: `${closer.url}socket` });
    expect(body.findings).toEqual([]);
    const evil = body.results.find((r) => r.origin === "https://evil.net");
    expect(evil).toMatchObject({ observed: "refused", status: 101, closeCode: 1008, finding: false });
    expect(evil?.detail).toContain("closed at once with 1008");
  });

  it("a server that talks before it closes is counted as accepting: the page could read the data", async () => {
    const one = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${leaker.url}socket`,
      origin: "https://evil.net",
    });
    expect(one.body).toMatchObject({ status: 101, upgraded: true, closeCode: 1008, framesBeforeClose: 1 });
    const { body } = await callTester<ScanResponse>(gw, "scan", { tenant: tenant.slug, url: `${leaker.url}socket` });
    const evil = body.results.find((r) => r.origin === "https://evil.net");
    expect(evil).toMatchObject({ observed: "allowed", closeCode: 1008, finding: true });
    expect(evil?.detail).toContain("sent 1 message, then closed with 1008");
    expect(body.summary.findings).toBe(body.results.filter((r) => r.expected === "refuse").length);
  });
});

describe("target restrictions", () => {
  it("refuses a URL nobody registered, or registered for another tenant, and audits the attempt", async () => {
    const unregistered = await callTester<{ error: { code: string; message: string } }>(gw, "handshake", {
      tenant: tenant.slug,
      url: `ws://127.0.0.1:${gw.port}/admin/stream`,
      origin: "https://app.example.com",
    });
    expect(unregistered.status).toBe(403);
    expect(unregistered.body.error.code).toBe("target_not_registered");
    expect(unregistered.body.error.message).toContain("not a registered tester endpoint");

    const elsewhere = await callTester<{ error: { code: string } }>(gw, "handshake", {
      tenant: other.slug,
      url: `${naive.url}socket`,
    });
    expect(elsewhere.status).toBe(403);
    // A prefix of a registered URL is not the registered URL.
    const prefix = await callTester(gw, "handshake", { tenant: tenant.slug, url: naive.url });
    expect(prefix.status).toBe(403);
    const scan = await callTester(gw, "scan", { tenant: tenant.slug, url: "ws://169.254.169.254/latest" });
    expect(scan.status).toBe(403);

    // http(s):// is the HTTP form of an endpoint (the CORS tester's): valid, but not registered.
    const httpForm = await callTester<{ error: { code: string } }>(gw, "handshake", {
      tenant: tenant.slug,
      url: "http://127.0.0.1:5432/",
    });
    expect(httpForm.status).toBe(403);
    const notWs = await callTester<{ error: { code: string } }>(gw, "handshake", {
      tenant: tenant.slug,
      url: "ftp://127.0.0.1:5432/",
    });
    expect(notWs.status).toBe(422);
    const userinfo = await callTester(gw, "handshake", { tenant: tenant.slug, url: "ws://user:pw@127.0.0.1/" });
    expect(userinfo.status).toBe(422);

    await flushAudit(gw);
    const rows = await query<{ details: { target: { url: string | null } } }>(
      db,
      "select details from audit_event where kind = 'tester' and reason = 'tester_target_refused'",
    );
    expect(rows.map((r) => r.details.target.url)).toContain(`ws://127.0.0.1:${gw.port}/admin/stream`);
    expect(rows.map((r) => r.details.target.url)).toContain("ws://169.254.169.254/latest");
  });

  it("matches a registered endpoint in any spelling of the same URL, with or without the tenant", async () => {
    const spelled = `WS://127.0.0.1:${naive.port}/socket`;
    const res = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: spelled,
      origin: "https://app.example.com",
    });
    expect(res.status).toBe(200);
    expect(res.body.upgraded).toBe(true);
    const withoutTenant = await callTester<HandshakeResponse>(gw, "handshake", {
      url: `${naive.url}socket`,
      origin: "https://app.example.com",
    });
    expect(withoutTenant.status).toBe(200);
    expect(withoutTenant.body.target.tenant).toBe(tenant.slug);
  });

  it("reports a redirect as its status and never follows it", async () => {
    const before = redirectTarget.requests();
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${redirector.url}socket`,
      origin: "https://app.example.com",
    });
    expect(body.status).toBe(302);
    expect(body.upgraded).toBe(false);
    expect(body.headers.location).toBe(`${redirectTarget.url}elsewhere`);
    expect(redirector.requests()).toBeGreaterThanOrEqual(1);
    // The tester answers with the redirect itself: had it followed, the target would have
    // been asked before this answer came back.
    expect(redirectTarget.requests()).toBe(before);
    expect(before).toBe(0);
  });

  it("gives up on a server that never answers, with a clear error", async () => {
    const { status, body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${hanging.url}socket`,
      origin: "https://app.example.com",
    });
    expect(status).toBe(200);
    expect(body.status).toBeNull();
    expect(body.upgraded).toBe(false);
    expect(body.error?.code).toBe("timeout");
    expect(body.error?.message).toContain("waiting for the response");
    expect(hanging.connections()).toBeGreaterThanOrEqual(1);
  });

  it("stops reading an oversized response head and reports it", async () => {
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${bigHead.url}socket`,
    });
    expect(body.status).toBeNull();
    expect(body.error?.code).toBe("response_too_large");
    expect(body.error?.message).toContain("16384");
  });

  it("bounds the body of a refusal and says it was truncated", async () => {
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `${bigBody.url}socket`,
    });
    expect(body.status).toBe(403);
    expect(body.body).toMatchObject({ bytes: 4096, truncated: true });
    expect(body.body?.text).toBe("b".repeat(4096));
    expect(body.error).toBeUndefined();
  });
});

describe("wss", () => {
  let dir: string;
  let server: https.Server;
  let wss: WebSocketServer;
  let port: number;
  let cert: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "og-tester-tls-"));
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
        ...[
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          path.join(dir, "key.pem"),
          "-out",
          path.join(dir, "cert.pem"),
        ],
      ],
      { stdio: "ignore" },
    );
    cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
    server = https.createServer({ key: readFileSync(path.join(dir, "key.pem")), cert });
    wss = new WebSocketServer({
      server,
      verifyClient: (info: { origin: string }) => info.origin === "https://app.example.com",
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as AddressInfo).port;
    await registerEndpoint(db, tenant.id, `wss://127.0.0.1:${port}/secure`, "tls");
  });

  afterAll(async () => {
    for (const c of wss?.clients ?? []) c.terminate();
    wss?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a certificate the gateway does not trust, saying why", async () => {
    const { body } = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: `wss://127.0.0.1:${port}/secure`,
      origin: "https://app.example.com",
    });
    expect(body.status).toBeNull();
    expect(body.error?.code).toBe("tls_failed");
    expect(body.error?.message).toMatch(/self[- ]signed/i);
  });

  it("measures connect, TLS and response times on a trusted wss endpoint", async () => {
    const ok = await runHandshake({
      url: `wss://127.0.0.1:${port}/secure`,
      origin: "https://app.example.com",
      ca: cert,
    });
    expect(ok.status).toBe(101);
    expect(ok.upgraded).toBe(true);
    expect(ok.timings.tls).toBeGreaterThan(0);
    expect(ok.timings.connect).toBeGreaterThanOrEqual(0);
    expect(ok.timings.response).toBeGreaterThanOrEqual(0);
    expect(ok.tls).toMatchObject({ authorized: true });
    expect(ok.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    const refused = await runHandshake({ url: `wss://127.0.0.1:${port}/secure`, origin: "https://evil.net", ca: cert });
    expect(refused.status).toBe(401);
  });
});
