/**
 * Issue 11 item 14, "Public admin surface", against real gateways and Postgres:
 * `ADMIN_HOST`/`ADMIN_PORT` move `/metrics`, `/healthz` and `/readyz` to a separate
 * listener while `/t/`, `/authz/`, `/admin/stream` and `/admin/tester` stay on the public
 * port; public answers carry no internal error text (a database error message) and no
 * tenant slug, the admin listener shows them. Also the wiring through `npm run gateway`
 * (server/main.ts + config).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../server/db/pg-server";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import {
  eventually,
  expectRefusal,
  handshake,
  rawRequest,
  spawnGateway,
  startGateway,
  type TestGateway,
  upgradeRequest,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";
const ROOT = path.resolve(import.meta.dirname, "../..");

let db: string;
let tenant: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase("adminlisten");
  tenant = await createTenant(db, { policy: { origins: [ORIGIN] } });
});

describe("with ADMIN_HOST/ADMIN_PORT", () => {
  let gw: TestGateway;
  let adminUrl: string;

  beforeAll(async () => {
    gw = await startGateway(db, { admin: { host: "127.0.0.1", port: 0 } });
    adminUrl = `http://127.0.0.1:${gw.gateway.adminPort}`;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("serves /healthz, /readyz and /metrics on the admin listener only", async () => {
    expect(gw.gateway.adminPort).not.toBe(gw.port);
    for (const p of ["/healthz", "/readyz", "/metrics"]) {
      expect((await fetch(`${gw.httpUrl}${p}`)).status, `public ${p}`).toBe(404);
    }
    const accepted = await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: ORIGIN });
    expect(accepted.status).toBe(101);
    accepted.ws?.close();

    const health = await fetch(`${adminUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "ok",
      policySource: "postgres",
      audit: { status: "ok" },
      gatewayId: gw.gateway.id,
      policy: { status: "ok", tenants: 1, lastError: null },
    });
    const ready = await fetch(`${adminUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, tenants: 1 }]);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toContain(
      `origingate_handshakes_total{tenant="${tenant.slug}",decision="accepted",reason="allowed"} 1`,
    );
    expect(metrics).toContain("origingate_audit_oldest_pending_seconds");
  });

  it("keeps /t/, /admin/stream and /admin/tester on the public port, and none of them on the admin listener", async () => {
    // Public port: the tenant endpoint (upgrade and plain GET), the live stream, the tester.
    expect((await fetch(`${gw.httpUrl}/t/${tenant.slug}/x`)).status).toBe(426);
    const stream = await expectRefusal(`${gw.wsUrl}/admin/stream`, {
      origin: "http://localhost:3000",
      protocols: ["og-admin.v1"],
    });
    expect([stream.status, stream.reason]).toEqual([401, "token_missing"]);
    const tester = await fetch(`${gw.httpUrl}/admin/tester/handshake`, { method: "POST", body: "{}" });
    expect(tester.status).toBe(401);

    // Admin listener: nothing but the three operational endpoints.
    const adminPort = gw.gateway.adminPort!;
    const upgrade = await rawRequest(adminPort, upgradeRequest(`/t/${tenant.slug}/x`, { Origin: ORIGIN }));
    expect(upgrade.status).toBe(404);
    const streamOnAdmin = await rawRequest(adminPort, upgradeRequest("/admin/stream", { Origin: ORIGIN }));
    expect(streamOnAdmin.status).toBe(404);
    expect((await fetch(`${adminUrl}/t/${tenant.slug}/x`)).status).toBe(404);
    expect((await fetch(`${adminUrl}/admin/tester/handshake`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${adminUrl}/healthz`, { method: "POST" })).status).toBe(405);
  });
});

describe("public answers", () => {
  it("carry no internal error text and no tenant slug; the admin listener shows the error", async () => {
    const pub = await startGateway(db);
    const admin = await startGateway(db, { admin: { host: "127.0.0.1", port: 0 } });
    const adminUrl = `http://127.0.0.1:${admin.gateway.adminPort}`;
    try {
      // Every reconciliation now fails with a database error ("relation ... does not exist").
      await query(db, "alter table policy rename to policy_away");
      const degraded = await eventually(async () => {
        const text = await (await fetch(`${pub.httpUrl}/healthz`)).text();
        return (JSON.parse(text) as { status: string }).status === "degraded" ? text : null;
      }, 10_000);
      expect(degraded).not.toMatch(/does not exist|relation|policy_away|42P01/);
      expect(degraded).not.toContain(tenant.slug);
      expect(JSON.parse(degraded)).toMatchObject({ policy: { status: "degraded" } });
      expect(JSON.parse(degraded).policy).not.toHaveProperty("lastError");
      expect(JSON.parse(degraded).policy).not.toHaveProperty("tenants");
      const ready = await fetch(`${pub.httpUrl}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { ready: true }]);

      const internal = await eventually(async () => {
        const h = (await (await fetch(`${adminUrl}/healthz`)).json()) as { policy: { lastError: string | null } };
        return h.policy.lastError ? h : null;
      }, 10_000);
      expect(internal.policy.lastError).toMatch(/does not exist/);
    } finally {
      await query(db, "alter table if exists policy_away rename to policy");
    }
    try {
      await eventually(async () => (await (await fetch(`${pub.httpUrl}/healthz`)).json()).status === "ok", 10_000);
    } finally {
      await pub.stop();
      await admin.stop();
    }
  });
});

describe("npm run gateway", () => {
  it("serves health on ADMIN_PORT when it is set", async () => {
    const adminPort = await freePort();
    const gw = await spawnGateway(db, { ADMIN_PORT: String(adminPort), ADMIN_HOST: "127.0.0.1" });
    try {
      expect(gw.healthUrl).toBe(`http://127.0.0.1:${adminPort}`);
      expect((await fetch(`${gw.healthUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(404);
      const accepted = await handshake(`${gw.wsUrl}/t/${tenant.slug}/x`, { origin: ORIGIN });
      expect(accepted.status).toBe(101);
      accepted.ws?.close();
    } finally {
      await gw.stop();
    }
  });

  it("refuses to start on an invalid admin listener setting, naming the variable", async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: db, GATEWAY_PORT: "18080", ...env },
          stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        // A gateway that starts after all (it should not) is stopped, not left behind.
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.once("exit", (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      });
    expect(await run({ ADMIN_HOST: "127.0.0.1" })).toEqual({
      code: 2,
      stderr: expect.stringContaining("ADMIN_HOST is set but ADMIN_PORT is not"),
    });
    expect(await run({ ADMIN_PORT: "18080" })).toEqual({
      code: 2,
      stderr: expect.stringContaining("ADMIN_PORT must differ from GATEWAY_PORT"),
    });
    expect(await run({ ADMIN_PORT: "9x" })).toEqual({
      code: 2,
      stderr: expect.stringContaining('ADMIN_PORT must be an integer from 1 to 65535 (got "9x")'),
    });
  });
});
