/**
 * Last-known-good survives a restart (issue 11 item 15, SPEC §5). Gateway A loads the
 * policies and writes its encrypted snapshot; it stops. Gateway B starts while Postgres is
 * unreachable — a real outage: its DATABASE_URL points at a TCP proxy in front of the real
 * Postgres that is not listening — and enforces the snapshot: ready, allowed and refused
 * exactly as before (tokens included: the sealed secrets survive), `policySource:
 * "snapshot"` with its age in /healthz. When the proxy starts ("Postgres returns") it
 * switches to Postgres and follows changes again. A snapshot that fails authentication
 * (tampered, or sealed with another key) is ignored and logged: the gateway stays not ready.
 * Before this, a gateway restarted during an outage refused everything.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway } from "../../server/gateway/gateway";
import { signHandshakeToken } from "../../server/policy";
import { PolicySnapshotFile } from "../../server/policy-store/snapshot";
import { generateSecretsKey, SecretBox } from "../../server/secrets/secret-box";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { createTenant, query, type TenantFixture, updatePolicy } from "../helpers/fixtures";
import { closed, eventually, expectRefusal, handshake, nextMessage, startGateway } from "../helpers/gateway";
import { TcpProxy } from "../helpers/tcp-proxy";
import { createTestDatabase } from "../helpers/test-db";

const A = "https://a.example.com";
const B = "https://b.example.com";

interface Health {
  status: string;
  policySource: string;
  policy: { snapshot: { writtenAt: string; ageSeconds: number } | null; policyAgeSeconds: number | null };
}

let db: string;
let dir: string;
let proxy: TcpProxy;

beforeAll(async () => {
  db = await createTestDatabase("snapshot");
  dir = await mkdtemp(path.join(tmpdir(), "og-snapshot-"));
  const target = new URL(db);
  proxy = await TcpProxy.create({ host: target.hostname, port: Number(target.port || 5432) });
});
afterAll(async () => {
  await proxy?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A gateway whose Postgres is behind the proxy, with its log lines collected. */
function outageGateway(snapshotPath: string, secrets: SecretBox | null = configuredSecretBox()) {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const gateway = new Gateway({
    databaseUrl: proxy.rewrite(db),
    logger,
    host: "127.0.0.1",
    dashboardUrl: "http://localhost:3000",
    reconcileIntervalMs: 500,
    drainTimeoutMs: 1000,
    secrets,
    snapshotPath,
  });
  return { gateway, lines };
}

async function health(port: number): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Health;
}

async function readyStatus(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
}

/** Runs gateway A until its snapshot holds every given tenant, then stops it. */
async function writeSnapshot(file: string, tenants: TenantFixture[]): Promise<void> {
  const a = await startGateway(db, { gatewayId: "gw-snap-a", snapshotPath: file });
  try {
    const reader = new PolicySnapshotFile(file, configuredSecretBox()!);
    await eventually(async () => {
      const snapshot = await reader.read().catch(() => null);
      const slugs = new Set(snapshot?.tenants.map((t) => t.slug));
      return tenants.every((t) => slugs.has(t.slug));
    }, 10_000);
  } finally {
    await a.stop();
  }
}

describe("a gateway restarted during a Postgres outage", () => {
  it("enforces its snapshot (ready, same decisions, tokens too), says so, and switches back when Postgres returns", async () => {
    const open = await createTenant(db, { policy: { origins: [A] } });
    const tokened = await createTenant(db, { policy: { origins: [A], token: "required" } });
    const doomed = await createTenant(db, { policy: { origins: [A] } });
    const file = path.join(dir, "policy-snapshot-gw-snap.enc");
    await writeSnapshot(file, [open, tokened, doomed]);
    // The file is sealed: nothing of the policy in the clear.
    const raw = await readFile(file, "utf8");
    expect(raw).toMatch(/^enc:v1:/);
    expect(raw).not.toContain(open.slug);

    const { gateway } = outageGateway(file);
    const { port } = await gateway.start(0);
    const ws = `ws://127.0.0.1:${port}`;
    try {
      await eventually(async () => (await readyStatus(port)) === 200, 15_000);
      const h = await health(port);
      expect(h).toMatchObject({ status: "degraded", policySource: "snapshot" });
      expect(h.policy.snapshot?.ageSeconds).toBeGreaterThanOrEqual(0);

      const allowed = await handshake(`${ws}/t/${open.slug}/x`, { origin: A });
      expect(allowed.status).toBe(101);
      const echo = nextMessage(allowed.ws!);
      allowed.ws!.send("from the snapshot");
      expect((await echo).data.toString()).toBe("from the snapshot");
      allowed.ws!.close();
      expect(await expectRefusal(`${ws}/t/${open.slug}/x`, { origin: B })).toMatchObject({
        status: 403,
        reason: "origin_not_allowed",
      });
      expect((await expectRefusal(`${ws}/t/no-such-tenant/x`, { origin: A })).status).toBe(404);
      const jwt = signHandshakeToken(
        { aud: tokened.slug, exp: Math.floor(Date.now() / 1000) + 60 },
        tokened.tokenSecret,
      );
      const withToken = await handshake(`${ws}/t/${tokened.slug}/x`, { origin: A, protocols: [`bearer.${jwt}`] });
      expect(withToken.status).toBe(101);
      expect((await expectRefusal(`${ws}/t/${tokened.slug}/x`, { origin: A })).reason).toBe("token_missing");

      // Connections opened on the snapshot's policies follow what Postgres says when it returns.
      const onOpen = await handshake(`${ws}/t/${open.slug}/x`, { origin: A });
      expect(onOpen.status).toBe(101);
      const onOpenClosed = closed(onOpen.ws!);

      // Meanwhile, in Postgres: one tenant changes, one is deleted. Then Postgres returns.
      await updatePolicy(db, open.id, { origins: [B] });
      await query(db, "delete from tenant where id = $1", [doomed.id]);
      await proxy.start();
      expect(await onOpenClosed).toEqual({ code: 1008, reason: "policy_revoked" });
      await eventually(async () => (await health(port)).policySource === "postgres", 20_000);
      await eventually(async () => (await health(port)).status === "ok", 20_000);
      await eventually(async () => (await expectRefusal(`${ws}/t/${doomed.slug}/x`, { origin: A })).status === 404);
      const now = await handshake(`${ws}/t/${open.slug}/x`, { origin: B });
      expect(now.status).toBe(101);
      now.ws!.close();
      // Unchanged in Postgres: the connection opened on the snapshot stays open.
      const stillHere = nextMessage(withToken.ws!);
      withToken.ws!.send("unchanged policy");
      expect((await stillHere).data.toString()).toBe("unchanged policy");
      withToken.ws!.close();
      // And it follows changes again.
      await updatePolicy(db, open.id, { origins: [A] });
      await eventually(async () => {
        const o = await handshake(`${ws}/t/${open.slug}/x`, { origin: A });
        o.ws?.close();
        return o.status === 101;
      }, 10_000);
    } finally {
      await gateway.stop();
      await proxy.stop();
    }
  }, 90_000);

  it("ignores a snapshot that fails authentication (tampered, another key) and stays not ready", async () => {
    const tenant = await createTenant(db, { policy: { origins: [A] } });
    const file = path.join(dir, "policy-snapshot-tampered.enc");
    await writeSnapshot(file, [tenant]);
    const sealed = (await readFile(file, "utf8")).trim();
    const body = Buffer.from(sealed.split(":")[3]!, "base64url");
    body[body.length >> 1]! ^= 0x01;
    await writeFile(file, `${sealed.split(":").slice(0, 3).join(":")}:${body.toString("base64url")}\n`);

    for (const [label, secrets] of [
      ["tampered", configuredSecretBox()],
      ["another key", SecretBox.fromStrings(generateSecretsKey())],
    ] as const) {
      const target = label === "tampered" ? file : path.join(dir, "policy-snapshot-other-key.enc");
      if (label !== "tampered") {
        // An intact snapshot, but sealed with a key this gateway does not have.
        await writeSnapshot(target, [tenant]);
      }
      const { gateway, lines } = outageGateway(target, secrets);
      const { port } = await gateway.start(0);
      try {
        await eventually(() => lines.some((l) => l.includes("policy snapshot ignored")), 15_000);
        expect(await readyStatus(port), label).toBe(503);
        expect((await health(port)).status).toBe("starting");
        expect((await expectRefusal(`ws://127.0.0.1:${port}/t/${tenant.slug}/x`, { origin: A })).status).toBe(503);
        // The log says why, and never prints the snapshot.
        const line = lines.find((l) => l.includes("policy snapshot ignored"))!;
        expect(line).toMatch(/failed authentication|key this process does not have/);
      } finally {
        await gateway.stop();
      }
    }
  }, 90_000);
});
