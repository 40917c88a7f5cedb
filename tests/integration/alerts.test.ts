/**
 * Alerts (SPEC §5.2) end to end: real gateways (one in-process that evaluates, one child
 * process that is killed), the real audit pipeline, and a real HTTP receiver that checks every
 * delivery's signature with the one verifier (server/net/webhook-signature.ts).
 *
 * - a burst of refusals is a rejection spike: the receiver gets a signed `firing` alert;
 * - a gateway process that stops (killed: no goodbye) is a stale gateway alert naming it, and
 *   a `resolved` message follows once it is accounted for (its row says it stopped);
 * - a live gateway that missed a policy change (its notification lost, reconciliation far
 *   off) is reported behind, by gateway and tenant, and resolved once it stopped;
 * - a gateway whose audit rows Postgres refuses drops them: audit_unhealthy alerts for its
 *   `dropping` status and for the dropped rows, naming it;
 * - a tester scan with findings (its audit row) is one tester_finding alert;
 * - a receiver that answers 500 and then 200: the delivery is retried and the delivery log
 *   shows both attempts;
 * - raiseAlert() (the rollout guard's entry point) delivers to the rules of its kind only;
 * - one evaluator at a time: a pass finds the lock held and skips.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRuleInput, alertWebhookInput } from "../../app/_lib/alerts/alert-input";
import { createAlertRule } from "../../app/_lib/alerts/alert-rules";
import { createAlertWebhook } from "../../app/_lib/alerts/alert-webhooks";
import { staleGateways } from "../../server/alerts/alert-conditions";
import { ALERT_EVALUATOR_LOCK_KEY, evaluateAlerts } from "../../server/alerts/evaluate-alerts";
import { raiseAlert } from "../../server/alerts/raise-alert";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from "../../server/net/webhook-signature";
import { createTenant, query, type TenantFixture, updatePolicy } from "../helpers/fixtures";
import {
  eventually,
  handshake,
  type ProcessGateway,
  spawnGateway,
  startGateway,
  type TestGateway,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const actor = { id: null, label: "test", kind: "system" as const };

interface Received {
  path: string;
  body: string;
  verified: boolean;
  json: {
    type: string;
    event: string;
    alert?: { id: string; kind: string; tenant: string | null; key: string; details: Record<string, unknown> };
  };
}

/** A webhook receiver: records what it gets, answers the statuses queued per path (200 after). */
class Receiver {
  readonly received: Received[] = [];
  readonly secrets = new Map<string, string>();
  readonly answers = new Map<string, number[]>();
  private server: Server = createServer((req, res) => void this.handle(req, res));
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  private async handle(req: IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const path = req.url ?? "/";
    const check = verifyWebhookSignature({
      secret: this.secrets.get(path) ?? "",
      body,
      timestamp: req.headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
      signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
    });
    this.received.push({ path, body, verified: check.ok, json: JSON.parse(body) });
    const status = this.answers.get(path)?.shift() ?? 200;
    res.writeHead(status).end();
  }

  alerts(path: string, kind: string): Received[] {
    return this.received.filter((r) => r.path === path && r.json.alert?.kind === kind);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let db: string;
let prisma: PrismaClient;
let pool: pg.Pool;
let tenant: TenantFixture;
let evaluator: TestGateway;
const receiver = new Receiver();
/** Child gateways still running (a killed one is taken out). */
const children = new Set<ProcessGateway>();
const webhooks: Record<string, string> = {};

async function webhook(name: string, path: string): Promise<string> {
  const { webhook: created, secret } = await createAlertWebhook({
    db: prisma,
    input: alertWebhookInput.parse({ name, url: receiver.url(path) }),
    actor,
  });
  receiver.secrets.set(path, secret);
  webhooks[name] = created.id;
  return created.id;
}

async function rule(body: Record<string, unknown>): Promise<void> {
  await createAlertRule({ db: prisma, input: alertRuleInput.parse(body), actor });
}

beforeAll(async () => {
  db = await createTestDatabase("alerts");
  prisma = createPrisma(db);
  pool = new pg.Pool({ connectionString: db, max: 3 });
  tenant = await createTenant(db, {
    policy: { origins: ["https://app.example.com"], limits: { handshakesPerMinutePerIp: 1_000_000 } },
  });
  await receiver.start();
  const main = await webhook("ops", "/ops");
  const flaky = await webhook("flaky", "/flaky");
  await rule({
    name: "spike",
    kind: "rejection_spike",
    tenant: tenant.slug,
    params: { windowMinutes: 5, minCount: 6 },
    webhookIds: [main],
  });
  await rule({ name: "stale", kind: "gateway_stale", params: { staleAfterSeconds: 5 }, webhookIds: [main] });
  await rule({ name: "new origins", kind: "new_rejected_origin", tenant: tenant.slug, webhookIds: [flaky] });
  await rule({ name: "guard", kind: "rollout_guard_tripped", webhookIds: [main] });
  await rule({ name: "scans", kind: "tester_finding", webhookIds: [main] });
  evaluator = await startGateway(db, { alerts: { intervalMs: 250, deliverIntervalMs: 100, backoffBaseMs: 200 } });
}, 60_000);

afterAll(async () => {
  for (const child of children) await child.stop();
  await evaluator?.stop();
  await receiver.close();
  await pool?.end();
  await prisma?.$disconnect();
});

describe("alert webhooks", () => {
  it("a burst of refusals is a rejection spike: a signed firing alert reaches the receiver", async () => {
    for (let i = 0; i < 8; i++) {
      const outcome = await handshake(`${evaluator.wsUrl}/t/${tenant.slug}/x`, { origin: "https://evil.example" });
      expect(outcome.status).toBe(403);
    }
    const [spike] = await eventually(() => {
      const got = receiver.alerts("/ops", "rejection_spike");
      return got.length > 0 ? got : null;
    }, 20_000);
    expect(spike!.verified).toBe(true);
    expect(spike!.json).toMatchObject({ type: "alert", event: "firing", alert: { tenant: tenant.slug } });
    expect(Number(spike!.json.alert!.details.current)).toBeGreaterThanOrEqual(6);
    // One open alert for the condition, however many passes saw it.
    await evaluator.gateway.alerts!.runOnce();
    expect(receiver.alerts("/ops", "rejection_spike")).toHaveLength(1);
  }, 30_000);

  it("retries a receiver that answers 500, and the delivery log shows both attempts", async () => {
    // The spike above was also a newly refused origin; its rule delivers to /flaky only.
    receiver.answers.set("/flaky", [500]);
    await handshake(`${evaluator.wsUrl}/t/${tenant.slug}/x`, { origin: "https://brand-new.example" });
    const delivery = await eventually(async () => {
      const rows = await prisma.alertDelivery.findMany({ where: { webhookId: webhooks.flaky, status: "delivered" } });
      return rows.find((r) => r.attempts === 2) ?? null;
    }, 20_000);
    const log = delivery.log as Array<{ status: number | null; error: string | null }>;
    expect(log.map((a) => a.status)).toEqual([500, 200]);
    expect(log[0]!.error).toBe("the receiver answered 500");
    const sent = receiver.received.filter((r) => r.path === "/flaky" && r.body === delivery.payload);
    expect(sent).toHaveLength(2);
    expect(sent.every((r) => r.verified)).toBe(true);
    expect(sent[0]!.json.alert?.kind).toBe("new_rejected_origin");
  }, 30_000);

  it("a gateway process that stops is reported stale, by its id", async () => {
    const child = await spawnGateway(db, { ALERTS: "off" });
    children.add(child);
    await eventually(async () => {
      const rows = await prisma.gatewayInstance.findMany({ where: { id: child.id } });
      return rows.length === 1;
    });
    child.child.kill("SIGKILL"); // no graceful goodbye: its heartbeat just stops
    await new Promise((resolve) => child.child.once("exit", resolve));
    children.delete(child);
    const stale = await eventually(() => {
      return receiver.alerts("/ops", "gateway_stale").find((r) => r.json.alert?.key === `stale:${child.id}`) ?? null;
    }, 30_000);
    expect(stale.verified).toBe(true);
    expect(stale.json.alert!.details.gatewayId).toBe(child.id);
    // Accounted for (what a graceful stop writes): the alert resolves, same id.
    await pool.query("update gateway_instance set stopped_at = now() where id = $1", [child.id]);
    const resolved = await eventually(() => {
      return (
        receiver
          .alerts("/ops", "gateway_stale")
          .find((r) => r.json.alert?.key === `stale:${child.id}` && r.json.event === "resolved") ?? null
      );
    }, 15_000);
    expect(resolved.json.alert!.id).toBe(stale.json.alert!.id);
    expect(resolved.verified).toBe(true);
    // The evaluating gateway itself keeps beating: never reported.
    expect(
      receiver.alerts("/ops", "gateway_stale").some((r) => r.json.alert?.key === `stale:${evaluator.gateway.id}`),
    ).toBe(false);
  }, 60_000);

  it("a live gateway that missed a policy change is reported behind, by gateway and tenant", async () => {
    const behindTenant = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
    const hook = await webhook("behind", "/behind");
    await rule({
      name: "behind",
      kind: "gateway_stale",
      tenant: behindTenant.slug,
      params: { staleAfterSeconds: 60, behindAfterSeconds: 5 },
      webhookIds: [hook],
    });
    // Reconciliation as rare as it can be: only a notification would bring it the change.
    const child = await spawnGateway(db, { ALERTS: "off", RECONCILE_INTERVAL_MS: "600000" });
    children.add(child);
    const enforced = async (id: string) =>
      (
        await query<{ v: number | null }>(
          db,
          "select (enforced_versions ->> $2)::int as v from gateway_instance where id = $1",
          [id, behindTenant.slug],
        )
      )[0]?.v ?? null;
    await eventually(async () => (await enforced(child.id)) === 1, 15_000);
    // The change is saved while its notification is lost (the trigger's NOTIFY off).
    await query(db, "alter table policy disable trigger policy_notify");
    let version: number;
    try {
      version = await updatePolicy(db, behindTenant.id, { origins: ["https://app.example.com", "https://b.example"] });
    } finally {
      await query(db, "alter table policy enable trigger policy_notify");
    }
    expect(version).toBe(2);
    // The evaluating gateway reconciles every 500 ms and catches up; the child keeps beating at v1.
    await eventually(async () => (await enforced(evaluator.gateway.id)) === 2, 15_000);
    const behind = await eventually(() => {
      return (
        receiver
          .alerts("/behind", "gateway_stale")
          .find((r) => r.json.alert?.key === `behind:${child.id}:${behindTenant.slug}`) ?? null
      );
    }, 30_000);
    expect(behind.verified).toBe(true);
    expect(behind.json).toMatchObject({
      event: "firing",
      alert: { tenant: behindTenant.slug, details: { gatewayId: child.id, enforcedVersion: 1, savedVersion: 2 } },
    });
    expect(await enforced(child.id)).toBe(1);
    // The gateway that caught up is never reported behind.
    expect(
      receiver
        .alerts("/behind", "gateway_stale")
        .some((r) => r.json.alert?.key === `behind:${evaluator.gateway.id}:${behindTenant.slug}`),
    ).toBe(false);
    // A gateway's first heartbeat goes out before it loaded any policy (status `starting`,
    // nothing enforced): that is not "behind"; once it reports what it enforces, it is.
    const starting = `gw-starting-${behindTenant.slug}`;
    await query(
      db,
      `insert into gateway_instance (id, host, pid, started_at, last_heartbeat_at, enforced_versions, status)
       values ($1, 'test', 1, now(), now(), '{}', 'starting')`,
      [starting],
    );
    const findings = async () =>
      (
        await staleGateways(
          pool,
          {
            id: "r",
            name: "behind",
            kind: "gateway_stale",
            tenant: behindTenant.slug,
            params: {},
            webhookIds: [],
            cursor: null,
          },
          { staleAfterSeconds: 60, behindAfterSeconds: 5 },
        )
      ).map((f) => f.key);
    expect(await findings()).not.toContain(`behind:${starting}:${behindTenant.slug}`);
    expect(await findings()).toContain(`behind:${child.id}:${behindTenant.slug}`);
    await query(db, "update gateway_instance set status = 'ok', enforced_versions = '{}' where id = $1", [starting]);
    expect(await findings()).toContain(`behind:${starting}:${behindTenant.slug}`);
    await query(db, "update gateway_instance set stopped_at = now() where id = $1", [starting]);

    // Stopped gracefully, it is no longer behind: the alert resolves, same id.
    await child.stop();
    children.delete(child);
    const resolved = await eventually(() => {
      return (
        receiver
          .alerts("/behind", "gateway_stale")
          .find((r) => r.json.alert?.key === behind.json.alert!.key && r.json.event === "resolved") ?? null
      );
    }, 15_000);
    expect(resolved.json.alert!.id).toBe(behind.json.alert!.id);
  }, 90_000);

  it("a gateway whose audit rows Postgres refuses is audit_unhealthy: dropping, and the rows it dropped", async () => {
    const hook = await webhook("audit", "/audit");
    await rule({ name: "audit", kind: "audit_unhealthy", params: { windowMinutes: 5 }, webhookIds: [hook] });
    // Postgres refuses this gateway's rows with a "poison" User-Agent, even clipped: they are dropped and counted.
    await query(
      db,
      "alter table audit_event add constraint test_no_poison check (user_agent is null or user_agent not like 'poison%')",
    );
    const child = await spawnGateway(db, { ALERTS: "off" });
    children.add(child);
    const outcome = await handshake(`${child.wsUrl}/t/${tenant.slug}/x`, {
      origin: "https://app.example.com",
      headers: { "User-Agent": "poison pill" },
    });
    expect(outcome.status).toBe(101);
    outcome.ws?.close();
    const alert = (key: string) =>
      eventually(
        () => receiver.alerts("/audit", "audit_unhealthy").find((r) => r.json.alert?.key === key) ?? null,
        30_000,
      );
    // Its heartbeat reports the audit status /healthz shows: dropping.
    const status = await alert(`audit:${child.id}`);
    expect(status.verified).toBe(true);
    expect(status.json).toMatchObject({
      event: "firing",
      alert: { tenant: null, details: { gatewayId: child.id, status: "dropping" } },
    });
    // The `dropped` row it wrote once Postgres took rows again.
    const dropped = await alert(`dropped:${child.id}`);
    expect(dropped.verified).toBe(true);
    expect(dropped.json.alert!.details).toMatchObject({ gatewayId: child.id, windowMinutes: 5 });
    expect(Number(dropped.json.alert!.details.dropped)).toBeGreaterThanOrEqual(1);
    const rows = await query<{ n: string }>(
      db,
      "select sum(count)::text as n from audit_event where kind = 'dropped' and gateway_id = $1",
      [child.id],
    );
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(Number(dropped.json.alert!.details.dropped));
    // A gateway whose audit is fine (the evaluator's) is never reported.
    expect(
      receiver
        .alerts("/audit", "audit_unhealthy")
        .some((r) => r.json.alert?.details.gatewayId === evaluator.gateway.id),
    ).toBe(false);
  }, 60_000);

  it("a tester scan that found accepted variants is one tester_finding alert", async () => {
    const details = {
      run: "scan",
      runId: "run-1",
      by: { name: "alice@example.com" },
      target: { url: `ws://gateway/t/${tenant.slug}` },
      outcome: { probes: 30, findings: 2, findingOrigins: ["https://app.example.com.evil.net", "null"] },
    };
    const clean = { ...details, runId: "run-2", outcome: { probes: 30, findings: 0, findingOrigins: [] } };
    for (const d of [details, clean]) {
      await pool.query(
        `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, count, details)
         values (now(), 'test', 'tester', $1, 'accepted', 'tester_scan', 1, $2)`,
        [tenant.slug, JSON.stringify(d)],
      );
    }
    const got = await eventually(() => receiver.alerts("/ops", "tester_finding")[0] ?? null, 15_000);
    expect(got.verified).toBe(true);
    expect(got.json.alert).toMatchObject({
      tenant: tenant.slug,
      details: { runId: "run-1", findings: 2, findingOrigins: ["https://app.example.com.evil.net", "null"] },
    });
    await evaluator.gateway.alerts!.runOnce();
    expect(receiver.alerts("/ops", "tester_finding")).toHaveLength(1);
  }, 30_000);

  it("raiseAlert (the rollout guard's call) delivers to the rules of its kind", async () => {
    const opened = await raiseAlert(pool, {
      kind: "rollout_guard_tripped",
      tenant: tenant.slug,
      key: "rollout-1",
      summary: "Canary v3 aborted: 120 new refusals per minute",
      details: { rolloutId: "rollout-1", version: 3 },
    });
    expect(opened).toHaveLength(1);
    // The same occurrence raised twice (a guard that trips again before the abort lands): one alert.
    expect(
      await raiseAlert(pool, {
        kind: "rollout_guard_tripped",
        tenant: tenant.slug,
        key: "rollout-1",
        summary: "again",
      }),
    ).toEqual([]);
    const got = await eventually(() => receiver.alerts("/ops", "rollout_guard_tripped")[0] ?? null, 15_000);
    expect(got.verified).toBe(true);
    expect(got.json.alert).toMatchObject({ tenant: tenant.slug, key: "rollout-1", details: { version: 3 } });
    expect(receiver.alerts("/flaky", "rollout_guard_tripped")).toHaveLength(0);
  }, 30_000);

  it("evaluates in one process at a time: a pass finds the lock held and skips", async () => {
    const holder = await pool.connect();
    try {
      await eventually(async () => {
        const { rows } = await holder.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [
          ALERT_EVALUATOR_LOCK_KEY,
        ]);
        return rows[0]!.locked;
      });
      const pass = await evaluateAlerts({ pool });
      expect(pass.ran).toBe(false);
    } finally {
      await holder.query("select pg_advisory_unlock_all()");
      holder.release();
    }
  });
});
