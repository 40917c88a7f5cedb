/**
 * Secrets at rest (issue 11 item 16, SPEC §5/§7): tenant token secrets and the signing keys
 * of the `setting` table are sealed with SECRETS_KEY (AES-256-GCM), a key kept outside the
 * database. The row in Postgres never holds the secret; a real gateway opens it and verifies
 * tokens signed with it; legacy plaintext rows still work and are sealed by
 * `ctl secrets:encrypt` (and `npm start`), which also re-seals after a key rotation; a
 * gateway without the key refuses the tokens of sealed secrets (fail closed).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateTenantSecret } from "../../app/_lib/tenants/rotate-tenant-secret";
import { openWebhookSecret } from "../../server/alerts/webhook-secret";
import { createPool } from "../../server/db/pool";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { getOrCreateSecretSetting, SETTING_ADMIN_TOKEN_KEY, SETTING_AUTH_SECRET } from "../../server/db/settings";
import { createTenant as createTenantInDashboard } from "../../server/domain/tenants/create-tenant";
import { Gateway } from "../../server/gateway/gateway";
import { createLogger } from "../../server/log";
import { signHandshakeToken } from "../../server/policy";
import { generateSecretsKey, SecretBox } from "../../server/secrets/secret-box";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { ensureSecretsKeyFile } from "../../server/secrets/secrets-key-file";
import { openDestinationSecret } from "../../server/siem/destination-secret";
import { createTenant, query, tenantTokenSecret } from "../helpers/fixtures";
import { eventually, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";
const ROOT = path.resolve(import.meta.dirname, "../..");
const actor = { id: null, label: "test@example.com" };

let db: string;
let prisma: PrismaClient;
let gw: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase("secrets");
  prisma = createPrisma(db);
  gw = await startGateway(db);
});
afterAll(async () => {
  await gw?.stop();
  await prisma?.$disconnect();
});

const token = (slug: string, secret: string) =>
  signHandshakeToken({ aud: slug, exp: Math.floor(Date.now() / 1000) + 300 }, secret);

async function statusWith(url: string, slug: string, jwt: string): Promise<{ status: number; reason: string | null }> {
  const outcome = await handshake(`${url}/t/${slug}/x`, { origin: ORIGIN, protocols: [`bearer.${jwt}`] });
  outcome.ws?.close();
  return { status: outcome.status, reason: outcome.reason };
}

async function tokenTenant(): Promise<string> {
  const slug = `sec-${randomBytes(4).toString("hex")}`;
  await createTenantInDashboard({
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

function ctl(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    // As `npm run ctl` runs it: the react-server condition resolves app/_lib's "server-only"
    // guard to its empty module outside Next.js.
    const child = spawn(
      process.execPath,
      ["--conditions=react-server", "--import", "tsx", "server/cli/ctl.ts", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: db, ...env },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("exit", (code) => resolve({ code: code ?? 1, stderr }));
  });
}

describe("tenant token secrets", () => {
  it("the row in Postgres does not contain the secret, and tokens signed with it verify at the gateway", async () => {
    const slug = await tokenTenant();
    const { tokenSecret } = await rotateTenantSecret({ db: prisma, slug, input: { overlapSeconds: 0 } });
    const [row] = await query<{ token_secret: string }>(db, "select token_secret from tenant where slug = $1", [slug]);
    expect(row!.token_secret).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(row!.token_secret).not.toContain(tokenSecret);
    // Nothing in the database holds it in the clear (any table, any column).
    const [dump] = await query<{ found: boolean }>(
      db,
      "select position($1 in (select string_agg(t::text, '') from tenant t)) > 0 as found",
      [tokenSecret],
    );
    expect(dump!.found).toBe(false);
    await eventually(async () => (await statusWith(gw.wsUrl, slug, token(slug, tokenSecret))).status === 101, 10_000);
    expect(await statusWith(gw.wsUrl, slug, token(slug, randomBytes(32).toString("base64url")))).toEqual({
      status: 401,
      reason: "token_invalid",
    });
  });

  it("a sealed secret moved to another tenant's row fails authentication: its tokens are refused", async () => {
    const victim = await tokenTenant();
    const other = await tokenTenant();
    const victimSecret = await tenantTokenSecret(db, victim);
    await query(
      db,
      "update tenant set token_secret = (select token_secret from tenant where slug = $1) where slug = $2",
      [victim, other],
    );
    await eventually(
      async () => (await statusWith(gw.wsUrl, other, token(other, victimSecret))).reason === "token_invalid",
      10_000,
    );
    // A row that cannot be opened stops `secrets:encrypt` (all or nothing): remove it.
    await query(db, "delete from tenant where slug = $1", [other]);
  });

  it("a gateway without SECRETS_KEY refuses the tokens of sealed secrets (fail closed)", async () => {
    const slug = await tokenTenant();
    const secret = await tenantTokenSecret(db, slug);
    // Its policies load (/readyz), though its admin endpoints cannot (the admin-token key is sealed too).
    const keyless = new Gateway({
      databaseUrl: db,
      logger: createLogger({ name: "keyless", level: "silent" }),
      host: "127.0.0.1",
      dashboardUrl: "http://localhost:3000",
      secrets: null,
    });
    const { port } = await keyless.start(0);
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 10_000);
      expect(await statusWith(`ws://127.0.0.1:${port}`, slug, token(slug, secret))).toEqual({
        status: 401,
        reason: "token_invalid",
      });
      expect((await statusWith(gw.wsUrl, slug, token(slug, secret))).status).toBe(101);
    } finally {
      await keyless.stop();
    }
  });
});

describe("migrating plaintext rows and rotating the key", () => {
  it("ctl secrets:encrypt seals legacy plaintext secrets and settings; tokens keep verifying", async () => {
    // What the code before encryption wrote: plaintext secrets.
    const legacy = await createTenant(db, { policy: { origins: [ORIGIN], token: "required" } });
    await query(db, "update tenant set token_secret = $2 where id = $1", [legacy.id, legacy.tokenSecret]);
    await query(db, "delete from setting where key = any($1)", [[SETTING_AUTH_SECRET, SETTING_ADMIN_TOKEN_KEY]]);
    const authSecret = randomBytes(32).toString("base64url");
    await query(db, "insert into setting (key, value) values ($1, $2), ($3, $4)", [
      SETTING_AUTH_SECRET,
      authSecret,
      SETTING_ADMIN_TOKEN_KEY,
      randomBytes(32).toString("base64url"),
    ]);
    // A SIEM webhook's signing secret stored before there was a key (disabled: nothing is sent).
    const hookSecret = randomBytes(32).toString("base64url");
    const [hook] = await query<{ id: string }>(
      db,
      `insert into siem_destination (id, name, kind, url, secret, enabled, updated_at)
       values (gen_random_uuid(), 'legacy-hook', 'webhook', 'https://192.0.2.30/x', $1, false, now()) returning id`,
      [hookSecret],
    );
    // And an alert webhook's (disabled too).
    const alertSecret = randomBytes(32).toString("base64url");
    const [alertHook] = await query<{ id: string }>(
      db,
      `insert into alert_webhook (id, name, url, secret, enabled, updated_at)
       values (gen_random_uuid(), 'legacy-alerts', 'https://192.0.2.31/x', $1, false, now()) returning id`,
      [alertSecret],
    );
    await eventually(
      async () => (await statusWith(gw.wsUrl, legacy.slug, token(legacy.slug, legacy.tokenSecret))).status === 101,
      10_000,
    );

    const result = await ctl(["secrets:encrypt"], {});
    expect(result).toMatchObject({ code: 0 });
    expect(result.stderr).toMatch(
      /sealed 1 token secret\(s\), 2 setting\(s\), 1 SIEM webhook secret\(s\) and 1 alert webhook secret\(s\)/,
    );
    const [sealedHook] = await query<{ secret: string }>(db, "select secret from siem_destination where id = $1", [
      hook!.id,
    ]);
    expect(sealedHook!.secret).toMatch(/^enc:v1:/);
    expect(openDestinationSecret(configuredSecretBox(), hook!.id, sealedHook!.secret)).toBe(hookSecret);
    const [sealedAlertHook] = await query<{ secret: string }>(db, "select secret from alert_webhook where id = $1", [
      alertHook!.id,
    ]);
    expect(sealedAlertHook!.secret).toMatch(/^enc:v1:/);
    expect(openWebhookSecret(configuredSecretBox(), alertHook!.id, sealedAlertHook!.secret)).toBe(alertSecret);

    const [row] = await query<{ token_secret: string }>(db, "select token_secret from tenant where id = $1", [
      legacy.id,
    ]);
    expect(row!.token_secret).toMatch(/^enc:v1:/);
    const [setting] = await query<{ value: string }>(db, "select value from setting where key = $1", [
      SETTING_AUTH_SECRET,
    ]);
    expect(setting!.value).toMatch(/^enc:v1:/);
    const pool = createPool(db, { max: 1 });
    try {
      expect(await getOrCreateSecretSetting(pool, SETTING_AUTH_SECRET, configuredSecretBox())).toBe(authSecret);
    } finally {
      await pool.end();
    }
    // The gateway reloaded the sealed row (the tenant trigger bumped the generation) and opens it.
    await eventually(() => gw.gateway.ctx.store.get(legacy.slug)?.row.tokenSecret.startsWith("enc:v1:"), 10_000);
    expect((await statusWith(gw.wsUrl, legacy.slug, token(legacy.slug, legacy.tokenSecret))).status).toBe(101);

    // Idempotent: a second run has nothing left to do.
    const again = await ctl(["secrets:encrypt"], {});
    expect(again.stderr).toMatch(
      /sealed 0 token secret\(s\), 0 setting\(s\), 0 SIEM webhook secret\(s\) and 0 alert webhook secret\(s\)/,
    );
    await query(db, "delete from siem_destination where id = $1", [hook!.id]);
    await query(db, "delete from alert_webhook where id = $1", [alertHook!.id]);
  });

  it("key rotation: with the old key in SECRETS_KEY_PREVIOUS, secrets:encrypt re-seals everything with the new key", async () => {
    const slug = await tokenTenant();
    const secret = await tenantTokenSecret(db, slug);
    const oldKey = process.env.SECRETS_KEY!;
    const newKey = generateSecretsKey();
    const result = await ctl(["secrets:encrypt"], { SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: oldKey });
    expect(result).toMatchObject({ code: 0 });
    const newBox = SecretBox.fromStrings(newKey)!;
    const rows = await query<{ id: string; token_secret: string }>(db, "select id, token_secret from tenant");
    for (const r of rows) expect(newBox.isCurrent(r.token_secret)).toBe(true);
    const [row] = await query<{ id: string; token_secret: string }>(
      db,
      "select id, token_secret from tenant where slug = $1",
      [slug],
    );
    expect(newBox.open(row!.token_secret, `tenant-token-secret:${row!.id}`)).toBe(secret);
    // The running gateway only has the old key now: it fails closed on the re-sealed secret…
    await eventually(
      async () => (await statusWith(gw.wsUrl, slug, token(slug, secret))).reason === "token_invalid",
      10_000,
    );
    // …and a gateway started with the new key verifies it.
    const rotated = await startGateway(db, { secrets: newBox });
    try {
      expect((await statusWith(rotated.wsUrl, slug, token(slug, secret))).status).toBe(101);
    } finally {
      await rotated.stop();
    }
    // Without the key the command refuses to run, and a wrong key changes nothing.
    const wrong = await ctl(["secrets:encrypt"], { SECRETS_KEY: generateSecretsKey(), SECRETS_KEY_PREVIOUS: "" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/cannot be decrypted/);
    for (const r of await query<{ token_secret: string }>(db, "select token_secret from tenant")) {
      expect(newBox.isCurrent(r.token_secret)).toBe(true);
    }
    // Back to the run's key for the tests after this one.
    expect((await ctl(["secrets:encrypt"], { SECRETS_KEY: oldKey, SECRETS_KEY_PREVIOUS: newKey })).code).toBe(0);
  });
});

describe("npm start's key file", () => {
  it("is generated once, readable by its owner only, and reused", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "og-key-"));
    try {
      const file = path.join(dir, "nested", "secrets.key");
      const first = ensureSecretsKeyFile(file);
      expect(first.generated).toBe(true);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(ensureSecretsKeyFile(file)).toEqual({ key: first.key, generated: false });
      expect(SecretBox.fromStrings(first.key)).toBeInstanceOf(SecretBox);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
