/**
 * SIEM export (SPEC §6), against real receivers: Debian's rsyslogd (imtcp, RFC 5424 with RFC
 * 6587 octet counting) and a real HTTP server for signed NDJSON webhooks, fed by a real
 * gateway whose audit pipeline writes to Postgres.
 *
 * - every event the gateway commits reaches rsyslog, with its id as MSGID and in the
 *   structured data, and its fields as the audit API returns them;
 * - a receiver that is down: events wait (bounded), the gateway says `buffering`, and the
 *   backlog arrives when the receiver is back — at least once, every id;
 * - beyond the bound: the drops are counted (metric, /healthz `dropping`, the gateway
 *   `degraded`) and the receiver is told how many it lost (a gap notice);
 * - SPEC §5.2's rule: a destination registered by a name that resolves to loopback is
 *   refused at registration, and a gateway never connects to it (a name that turned
 *   internal after registration); registered as the literal 127.0.0.1, it works;
 * - webhooks: NDJSON batches signed with X-OriginGate-Timestamp / -Signature (checked by
 *   the receiver with the one verifier), a receiver error retried until it answers 2xx.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiemDestination } from "../../app/_lib/siem/create-siem-destination";
import { siemDestinationInput } from "../../app/_lib/siem/siem-destination-input";
import { searchAudit } from "../../server/db/audit-queries";
import { createPool } from "../../server/db/pool";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from "../../server/net/webhook-signature";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { eventually, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createRsyslog, type Rsyslog } from "../helpers/rsyslog";
import { createTestDatabase } from "../helpers/test-db";

let db: string;
let prisma: PrismaClient;
let tenant: TenantFixture;
let rsyslog: Rsyslog;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  db = await createTestDatabase("siem");
  prisma = createPrisma(db);
  tenant = await createTenant(db, {
    policy: { origins: ["https://app.example.com"], limits: { handshakesPerMinutePerIp: 1_000_000 } },
  });
  rsyslog = await createRsyslog();
});

afterAll(async () => {
  for (const g of gateways) await g.stop();
  await rsyslog?.dispose();
  await prisma?.$disconnect();
});

async function register(name: string, kind: "syslog" | "webhook", url: string) {
  return createSiemDestination({
    db: prisma,
    input: siemDestinationInput.parse({ name, kind, url }),
    actor: { id: null, label: "test", kind: "system" },
  });
}

async function gateway(siem: { queueMax?: number } = {}): Promise<TestGateway> {
  const g = await startGateway(db, { siem: { reloadMs: 100, backoffMaxMs: 1000, ...siem } });
  gateways.push(g);
  return g;
}

/** `n` refused handshakes with distinct origins: `n` audit rows (nothing folds). */
async function refusals(g: TestGateway, label: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const outcome = await handshake(`${g.wsUrl}/t/${tenant.slug}/siem`, {
      origin: `https://${label}-${i}.evil.example`,
    });
    expect(outcome.status).toBe(403);
  }
}

/** Ids of the rows `g` wrote whose origin starts with `https://<label>-`. */
async function writtenIds(g: TestGateway, label: string): Promise<string[]> {
  const rows = await query<{ id: string }>(
    db,
    "select id::text as id from audit_event where gateway_id = $1 and starts_with(origin, $2) order by audit_event.id",
    [g.gateway.id, `https://${label}-`],
  );
  return rows.map((r) => r.id);
}

async function syslogIds(): Promise<string[]> {
  return (await rsyslog.received()).map((m) => m.msgid);
}

function metric(text: string, name: string, destination: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{destination="${destination}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

async function health(
  g: TestGateway,
): Promise<{ status: string; siem: { status: string; queueDepth: number; dropped: number } }> {
  return (await fetch(`${g.httpUrl}/healthz`)).json();
}

describe("SIEM export to syslog (rsyslogd)", () => {
  let g: TestGateway;

  beforeAll(async () => {
    await register("rsyslog", "syslog", `tcp://127.0.0.1:${rsyslog.port}`);
    g = await gateway({ queueMax: 40 });
    await eventually(() => g.gateway.siem.health().destinations === 1);
  });

  it("streams every committed event once, its id as MSGID and in the structured data", async () => {
    await refusals(g, "live", 25);
    const ids = await eventually(async () => {
      const written = await writtenIds(g, "live");
      return written.length === 25 ? written : null;
    });
    await eventually(async () => {
      const received = new Set(await syslogIds());
      return ids.every((id) => received.has(id));
    }, 15_000);
    const messages = (await rsyslog.received()).filter((m) => ids.includes(m.msgid));
    expect(messages.map((m) => m.msgid).sort()).toEqual([...ids].sort());
    // What the SIEM sees of one event is what the audit API returns.
    const sample = messages[0]!;
    expect(sample.structuredData).toContain(`id="${sample.msgid}"`);
    expect(sample.structuredData).toContain('decision="rejected"');
    expect(sample.structuredData).toContain(`gatewayId="${g.gateway.id}"`);
    const pool = createPool(db);
    try {
      const { events } = await searchAudit(pool, { tenant: tenant.slug, limit: 1000 });
      const api = events.find((e) => e.id === sample.msgid)!;
      expect(JSON.parse(sample.msg)).toEqual(api);
    } finally {
      await pool.end();
    }
    const metrics = await (await fetch(`${g.httpUrl}/metrics`)).text();
    await eventually(
      async () =>
        metric(
          await (await fetch(`${g.httpUrl}/metrics`)).text(),
          "origingate_siem_events_exported_total",
          "rsyslog",
        ) >= 25,
    );
    expect(metric(metrics, "origingate_siem_events_dropped_total", "rsyslog")).toBe(0);
    expect((await health(g)).siem).toMatchObject({ status: "ok", dropped: 0 });
  });

  it("holds events while the receiver is down and delivers the backlog when it returns", async () => {
    await eventually(async () => (await health(g)).siem.queueDepth === 0, 15_000);
    await rsyslog.stop();
    await refusals(g, "backlog", 15);
    const ids = await eventually(async () => {
      const written = await writtenIds(g, "backlog");
      return written.length === 15 ? written : null;
    });
    // The gateway knows: waiting, not lost.
    await eventually(async () => {
      const h = await health(g);
      return h.siem.status === "buffering" && h.siem.queueDepth >= 15;
    }, 15_000);
    expect((await health(g)).siem.dropped).toBe(0);

    await rsyslog.start();
    await eventually(async () => {
      const received = new Set(await syslogIds());
      return ids.every((id) => received.has(id));
    }, 30_000);
    await eventually(async () => (await health(g)).siem.status === "ok", 15_000);
    expect((await health(g)).siem.dropped).toBe(0);
  });

  it("counts what it drops beyond its bound, says so, and tells the receiver the number", async () => {
    // Nothing held or unconfirmed from before: the bound is all the flood's.
    await eventually(async () => (await health(g)).siem.queueDepth === 0, 15_000);
    await rsyslog.stop();
    // 40 held (queueMax), the other 20 dropped.
    await refusals(g, "flood", 60);
    await eventually(async () => (await writtenIds(g, "flood")).length === 60);
    await eventually(async () => (await health(g)).siem.dropped === 20, 15_000);
    const h = await health(g);
    expect(h.siem.status).toBe("dropping");
    expect(h.status).toBe("degraded");
    expect(
      metric(await (await fetch(`${g.httpUrl}/metrics`)).text(), "origingate_siem_events_dropped_total", "rsyslog"),
    ).toBe(20);

    await rsyslog.start();
    const ids = await writtenIds(g, "flood");
    await eventually(async () => {
      const received = new Set(await syslogIds());
      return ids.slice(0, 40).every((id) => received.has(id)) && received.has("gap");
    }, 30_000);
    const received = await rsyslog.received();
    // The 40 held arrived; the 20 beyond the bound did not, and the gap notice says 20.
    expect(ids.slice(40).filter((id) => received.some((m) => m.msgid === id))).toEqual([]);
    const gap = received.find((m) => m.msgid === "gap")!;
    expect(gap.structuredData).toContain('dropped="20"');
    expect(JSON.parse(gap.msg)).toMatchObject({ type: "gap", dropped: 20, gatewayId: g.gateway.id });
  });
});

describe("destination addresses (SPEC §5.2)", () => {
  it("refuses a name that resolves to loopback at registration, and never connects to one that turned internal", async () => {
    await expect(register("by-name", "syslog", `tcp://localhost:${rsyslog.port}`)).rejects.toMatchObject({
      code: "validation_failed",
    });
    // A name that passed at registration and resolves to loopback now (DNS rebinding).
    await query(
      db,
      `insert into siem_destination (id, name, kind, url, enabled, updated_at)
       values (gen_random_uuid(), 'rebound', 'syslog', $1, true, now())`,
      [`tcp://localhost:${rsyslog.port}`],
    );
    const g = await gateway();
    const before = (await rsyslog.received()).length;
    await eventually(() => g.gateway.siem.health().destinations >= 2);
    await refusals(g, "rebound", 3);
    await eventually(() =>
      g.gateway.siem
        .healthDetail()
        .perDestination.find((d) => d.name === "rebound")
        ?.lastError?.includes("internal address"),
    );
    // The literal destination got them; nothing reached rsyslog through the name.
    const ids = await writtenIds(g, "rebound");
    await eventually(async () => {
      const received = await rsyslog.received();
      return ids.every((id) => received.filter((m) => m.msgid === id).length >= 1);
    }, 15_000);
    const got = (await rsyslog.received()).slice(before).filter((m) => ids.includes(m.msgid));
    expect(got.length).toBe(ids.length); // once each: only the literal destination delivers
    await query(db, "delete from siem_destination where name = 'rebound'");
  });
});

describe("SIEM export to a webhook (NDJSON, signed)", () => {
  let server: Server;
  let secret: string;
  const lines: Array<Record<string, unknown>> = [];
  let requests = 0;
  let badSignatures = 0;

  beforeAll(async () => {
    await query(db, "delete from siem_destination");
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        requests += 1;
        const body = Buffer.concat(chunks);
        const check = verifyWebhookSignature({
          secret,
          body,
          timestamp: req.headers[TIMESTAMP_HEADER.toLowerCase()] as string,
          signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string,
        });
        if (!check.ok) {
          badSignatures += 1;
          res.writeHead(401).end();
          return;
        }
        // The first delivery fails: the batch must come again.
        if (requests === 1) {
          res.writeHead(503).end();
          return;
        }
        expect(req.headers["content-type"]).toBe("application/x-ndjson");
        for (const line of body.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const created = await register(
      "hook",
      "webhook",
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/siem`,
    );
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secret = created.secret!;
    // Sealed at rest (the tests run with SECRETS_KEY).
    const [row] = await query<{ secret: string }>(db, "select secret from siem_destination where name = 'hook'");
    expect(row!.secret).not.toContain(secret);
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it("delivers every event as a signed NDJSON line, retrying a receiver error", async () => {
    const g = await gateway();
    await eventually(() => g.gateway.siem.health().destinations === 1);
    await refusals(g, "hook", 12);
    const ids = await eventually(async () => {
      const written = await writtenIds(g, "hook");
      return written.length === 12 ? written : null;
    });
    await eventually(() => ids.every((id) => lines.some((l) => l.id === id)), 20_000);
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(badSignatures).toBe(0);
    for (const line of lines.filter((l) => ids.includes(l.id as string))) {
      expect(line).toMatchObject({ type: "event", tenant: tenant.slug, decision: "rejected", gatewayId: g.gateway.id });
    }
  });
});
