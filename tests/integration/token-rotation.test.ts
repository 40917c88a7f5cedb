/**
 * Token-secret rotation with overlap (issue 17 item 5, SPEC §7 + §4.5), through the
 * dashboard's own rotateTenantSecret and a real gateway: during the overlap tokens of both
 * secrets are admitted; when it ends only the new secret verifies, and open connections
 * admitted with the old one are closed (1008 policy_revoked, cause token_invalid) while
 * those admitted with the new one stay. The overlap is validated (0–86400 seconds).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { rotateTenantSecret } from "../../app/_lib/tenants/rotate-tenant-secret";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { signHandshakeToken } from "../../server/policy";
import { query, tenantTokenSecret } from "../helpers/fixtures";
import { closed, eventually, handshake, nextMessage, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";
const actor = { id: null, label: "test@example.com" };

let db: string;
let prisma: PrismaClient;
let gw: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase("rotation");
  prisma = createPrisma(db);
  gw = await startGateway(db);
});
afterAll(async () => {
  await gw?.stop();
  await prisma?.$disconnect();
});

async function tokenTenant(): Promise<string> {
  const slug = `rot-${randomBytes(4).toString("hex")}`;
  await createTenant({
    db: prisma,
    input: { slug, name: slug },
    actor,
    document: {
      mode: "enforce",
      origins: [{ pattern: ORIGIN }],
      credentials: "forbid",
      token: "required",
      missingOrigin: "reject",
      subprotocols: [],
      limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 100, handshakesPerMinutePerIp: 600 },
    },
  });
  await eventually(() => gw.gateway.ctx.store.get(slug), 10_000);
  return slug;
}

const jwt = (slug: string, secret: string) =>
  signHandshakeToken({ aud: slug, exp: Math.floor(Date.now() / 1000) + 600 }, secret);

async function connect(slug: string, token: string) {
  return handshake(`${gw.wsUrl}/t/${slug}/x`, { origin: ORIGIN, protocols: ["chat", `bearer.${token}`] });
}

async function status(slug: string, token: string): Promise<number> {
  const outcome = await connect(slug, token);
  outcome.ws?.close();
  return outcome.status;
}

async function echoes(ws: import("ws").WebSocket): Promise<boolean> {
  const reply = nextMessage(ws);
  ws.send("still here?");
  return (await reply).data.toString() === "still here?";
}

describe("rotation with overlap", () => {
  it("admits both secrets during the overlap; then only the new one, and closes connections of the old", async () => {
    const slug = await tokenTenant();
    const oldSecret = await tenantTokenSecret(db, slug);
    const beforeRotation = await connect(slug, jwt(slug, oldSecret));
    expect(beforeRotation.status).toBe(101);

    const rotated = await rotateTenantSecret({ db: prisma, slug, input: { overlapSeconds: 3600 } });
    const newSecret = rotated.tokenSecret;
    expect(Date.parse(rotated.previousSecretValidUntil!) - Date.parse(rotated.rotatedAt)).toBe(3_600_000);
    await eventually(async () => (await status(slug, jwt(slug, newSecret))) === 101, 10_000);

    // During the overlap: both secrets admit new handshakes; the open connection stays.
    expect(await status(slug, jwt(slug, oldSecret))).toBe(101);
    const duringOverlap = await connect(slug, jwt(slug, oldSecret));
    const withNew = await connect(slug, jwt(slug, newSecret));
    expect([duringOverlap.status, withNew.status]).toEqual([101, 101]);
    expect(await echoes(beforeRotation.ws!)).toBe(true);

    // The overlap ends (in one second: the gateway's expiry timer, not a reload, ends it).
    const closes = [closed(beforeRotation.ws!), closed(duringOverlap.ws!)];
    await query(db, "update tenant set previous_token_secret_until = now() + interval '1 second' where slug = $1", [
      slug,
    ]);
    for (const c of await Promise.all(closes)) expect(c).toEqual({ code: 1008, reason: "policy_revoked" });
    expect(await echoes(withNew.ws!)).toBe(true);
    const refused = await connect(slug, jwt(slug, oldSecret));
    expect([refused.status, refused.reason]).toEqual([401, "token_invalid"]);
    expect(await status(slug, jwt(slug, newSecret))).toBe(101);
    withNew.ws!.close();

    await eventually(() => gw.gateway.ctx.connections.openCount(slug) === 0, 10_000);
    await gw.gateway.ctx.audit.flush(true);
    const revoked = await query<{ reason: string; close_code: number; details: { cause: string } }>(
      db,
      "select reason, close_code, details from audit_event where tenant = $1 and kind = 'revoked'",
      [slug],
    );
    expect(revoked).toHaveLength(2);
    for (const r of revoked)
      expect(r).toMatchObject({ reason: "policy_revoked", close_code: 1008, details: { cause: "token_invalid" } });
  });

  it("overlapSeconds 0 cuts the old secret off at once (its open connections closed)", async () => {
    const slug = await tokenTenant();
    const oldSecret = await tenantTokenSecret(db, slug);
    const open = await connect(slug, jwt(slug, oldSecret));
    expect(open.status).toBe(101);
    const closing = closed(open.ws!);
    const rotated = await rotateTenantSecret({ db: prisma, slug, input: { overlapSeconds: 0 } });
    expect(rotated.previousSecretValidUntil).toBeNull();
    expect(await closing).toEqual({ code: 1008, reason: "policy_revoked" });
    expect(await status(slug, jwt(slug, oldSecret))).toBe(401);
    expect(await status(slug, jwt(slug, rotated.tokenSecret))).toBe(101);
  });

  it("a second rotation during an overlap keeps only the secret it replaces valid", async () => {
    const slug = await tokenTenant();
    const first = await tenantTokenSecret(db, slug);
    const second = (await rotateTenantSecret({ db: prisma, slug })).tokenSecret;
    const third = (await rotateTenantSecret({ db: prisma, slug })).tokenSecret;
    await eventually(async () => (await status(slug, jwt(slug, third))) === 101, 10_000);
    expect(await status(slug, jwt(slug, second))).toBe(101);
    expect(await status(slug, jwt(slug, first))).toBe(401);
  });

  it("defaults to 300 s, and refuses more than 86400 s, negatives and fractions (nothing rotated)", async () => {
    const slug = await tokenTenant();
    const rotated = await rotateTenantSecret({ db: prisma, slug });
    expect(Date.parse(rotated.previousSecretValidUntil!) - Date.parse(rotated.rotatedAt)).toBe(300_000);
    const [before] = await query<{ token_secret: string }>(db, "select token_secret from tenant where slug = $1", [
      slug,
    ]);
    for (const overlapSeconds of [86_401, -1, 1.5]) {
      await expect(rotateTenantSecret({ db: prisma, slug, input: { overlapSeconds } })).rejects.toBeInstanceOf(
        ZodError,
      );
    }
    await expect(
      rotateTenantSecret({ db: prisma, slug, input: { overlapSeconds: 60, extra: 1 } as never }),
    ).rejects.toBeInstanceOf(ZodError);
    const [after] = await query<{ token_secret: string }>(db, "select token_secret from tenant where slug = $1", [
      slug,
    ]);
    expect(after).toEqual(before);
    expect(
      (await rotateTenantSecret({ db: prisma, slug, input: { overlapSeconds: 86_400 } })).previousSecretValidUntil,
    ).not.toBeNull();
  });
});
