/**
 * The tester and DNS rebinding (issue 11 item 16, SPEC §8): an endpoint registered by host
 * *name* is resolved once per run and connected to at that pinned address, and a name
 * whose answer is loopback, private or link-local is refused — only an endpoint registered
 * as that literal address may be internal. Here `localhost` (which the system resolver
 * answers with 127.0.0.1 from /etc/hosts) stands for a public name rebound to loopback.
 * Real gateway, real target server, real resolver, Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HandshakeResponse } from "../../server/tester/types";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { callTester, flushAudit, naiveServer, registerEndpoint } from "./tester-helpers";

let db: string;
let gw: TestGateway;
let tenant: TenantFixture;
let target: Awaited<ReturnType<typeof naiveServer>>;
let byName: string;
let literal: string;

beforeAll(async () => {
  db = await createTestDatabase("tester_rebind");
  tenant = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
  target = await naiveServer();
  byName = `ws://localhost:${target.port}/socket`;
  literal = `ws://127.0.0.1:${target.port}/socket`;
  await registerEndpoint(db, tenant.id, byName, "by name");
  await registerEndpoint(db, tenant.id, literal, "literal");
  gw = await startGateway(db, { audit: { flushMs: 20 } });
});

afterAll(async () => {
  await gw?.stop();
  await target?.close();
});

describe("registered endpoints and internal addresses", () => {
  it("a registered name that resolves to 127.0.0.1 is refused (403 target_address_refused) and never connected to", async () => {
    const before = target.origins.length;
    const res = await callTester<{ error: { code: string; message: string } }>(gw, "handshake", {
      tenant: tenant.slug,
      url: byName,
      origin: "https://app.example.com",
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("target_address_refused");
    expect(res.body.error.message).toMatch(/register its literal address/);
    const scan = await callTester<{ error: { code: string } }>(gw, "scan", { tenant: tenant.slug, url: byName });
    expect([scan.status, scan.body.error.code]).toEqual([403, "target_address_refused"]);
    expect(target.origins.length).toBe(before);
  });

  it("the attempt is audited as a refused tester target", async () => {
    await flushAudit(gw);
    const rows = await query<{ reason: string; code: string }>(
      db,
      "select reason, details->'refused'->>'code' as code from audit_event where kind = 'tester' and tenant = $1",
      [tenant.slug],
    );
    expect(rows.filter((r) => r.code === "target_address_refused")).toHaveLength(2);
    for (const r of rows) expect(r.reason).toBe("tester_target_refused");
  });

  it("the same server registered as its literal address is tested", async () => {
    const res = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: tenant.slug,
      url: literal,
      origin: "https://app.example.com",
    });
    expect(res.status).toBe(200);
    expect(res.body.upgraded).toBe(true);
    expect(target.origins.at(-1)).toBe("https://app.example.com");
  });
});
