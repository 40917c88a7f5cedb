/**
 * The admin activity log against a real Postgres:
 *  - the database itself refuses UPDATE, DELETE and TRUNCATE on it (append-only);
 *  - each domain write records exactly one entry in its own transaction, and a write that
 *    fails records nothing;
 *  - API tokens: expiry, tenant scope that never widens when its tenant is deleted, a removed
 *    user's tokens revoked, a demotion revoking the tokens above the new role;
 *  - Better Auth's events (password sign-in, failed sign-in, TOTP enrolment and sign-in, a
 *    reused code refused, password change) go through its real handler and hooks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { rejection } from "../helpers/app-error";
import { query } from "../helpers/fixtures";
import { createTestDatabase } from "../helpers/test-db";
import { freshCode, secretFromUri } from "../helpers/totp";

const PASSWORD = "integration-password-1";
const BASE = "http://localhost:3999";
let url: string;
let db: PrismaClient;

beforeAll(async () => {
  url = await createTestDatabase("activity");
  // app/_lib reads its configuration once, from here.
  process.env.DATABASE_URL = url;
  process.env.DASHBOARD_URL = BASE;
  db = createPrisma(url);
});

afterAll(async () => {
  await db.$disconnect();
});

/** One statement on this file's database. */
const sql = <T extends object>(text: string, values: unknown[] = []): Promise<T[]> => query<T>(url, text, values);

async function entriesAfter(id: bigint, where: Record<string, unknown> = {}) {
  return db.activityEntry.findMany({ where: { id: { gt: id }, ...where }, orderBy: { id: "asc" } });
}

async function lastId(): Promise<bigint> {
  return (await db.activityEntry.findFirst({ orderBy: { id: "desc" }, select: { id: true } }))?.id ?? 0n;
}

const actor = { id: null, label: "tester@example.com", kind: "user" as const, address: "203.0.113.7" };

describe("append-only", () => {
  it("refuses UPDATE, DELETE and TRUNCATE, whoever asks", async () => {
    const [row] = await sql<{ id: string }>(
      "insert into activity (actor, actor_kind, action, summary) values ('x', 'system', 'test.append', 'one') returning id::text as id",
    );
    for (const statement of [
      `update activity set summary = 'changed' where id = ${row?.id}`,
      `delete from activity where id = ${row?.id}`,
      "truncate activity",
    ]) {
      await expect(sql(statement), statement).rejects.toThrow(/append-only/);
    }
    const [still] = await sql<{ summary: string }>("select summary from activity where id = $1", [row?.id]);
    expect(still?.summary).toBe("one");
  });
});

describe("domain writes", () => {
  it("each records exactly one entry with actor, target, summary and address; a failed write none", async () => {
    const { createTenant } = await import("../../server/domain/tenants/create-tenant");
    const { updateTenant } = await import("../../app/_lib/tenants/update-tenant");
    const { rotateTenantSecret } = await import("../../app/_lib/tenants/rotate-tenant-secret");
    const { savePolicy } = await import("../../server/domain/policy/save-policy");
    const { getPolicy } = await import("../../app/_lib/policy/get-policy");
    const { deleteTenant } = await import("../../app/_lib/tenants/delete-tenant");

    let mark = await lastId();
    await createTenant({ db, input: { slug: "act-one", name: "One" }, actor });
    let rows = await entriesAfter(mark);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: "tenant.create",
      actor: "tester@example.com",
      target: "act-one",
      remoteAddr: "203.0.113.7",
    });

    mark = await lastId();
    await updateTenant({ db, slug: "act-one", input: { name: "Renamed" }, actor });
    const { tokenSecret } = await rotateTenantSecret({ db, slug: "act-one", actor });
    const { version, ...document } = await getPolicy({ db, slug: "act-one" });
    await savePolicy({
      db,
      slug: "act-one",
      expectedVersion: version,
      document: { ...document, origins: [{ pattern: "https://a.example.com" }] },
      actor,
    });
    rows = await entriesAfter(mark);
    expect(rows.map((r) => r.action)).toEqual(["tenant.update", "tenant.rotate_secret", "policy.save"]);
    expect(rows[0]?.summary).toContain('"One" → "Renamed"');
    // The secret itself never reaches the log.
    expect(JSON.stringify(rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(tokenSecret);

    mark = await lastId();
    const stale = await rejection(savePolicy({ db, slug: "act-one", expectedVersion: version, document, actor }));
    expect(stale.code).toBe("version_conflict");
    expect(await entriesAfter(mark)).toHaveLength(0);

    await deleteTenant({ db, slug: "act-one", actor });
    rows = await entriesAfter(mark);
    expect(rows.map((r) => [r.action, r.target])).toEqual([["tenant.delete", "act-one"]]);
  });
});

describe("API tokens", () => {
  it("expire, stay scoped, and follow their creator", async () => {
    const { createTenant } = await import("../../server/domain/tenants/create-tenant");
    const { deleteTenant } = await import("../../app/_lib/tenants/delete-tenant");
    const { createApiToken } = await import("../../server/domain/tokens/create-api-token");
    const { verifyApiToken } = await import("../../app/_lib/tokens/verify-api-token");
    const { createUser } = await import("../../server/domain/users/create-user");
    const { updateUserRole } = await import("../../app/_lib/users/update-user-role");
    const { deleteUser } = await import("../../app/_lib/users/delete-user");

    await createTenant({ db, input: { slug: "scope-a", name: "A" }, actor });
    const scoped = await createApiToken({
      db,
      input: { name: "scoped", role: "editor", tenant: "scope-a", expiresInDays: 1 },
      createdById: null,
      actor,
    });
    const verified = await verifyApiToken({ db, token: scoped.token });
    expect(verified?.tenant).toBe("scope-a");
    // An hour past its expiry it is refused.
    expect(await verifyApiToken({ db, token: scoped.token, now: Date.now() + 25 * 3600_000 })).toBeNull();
    const tooLong = await rejection(
      createApiToken({ db, input: { name: "long", role: "viewer", expiresInDays: 366 }, createdById: null }),
    );
    expect(tooLong.code).toBe("validation_failed");

    // Deleting the tenant revokes the tokens scoped to it; even an unrevoked row whose tenant is
    // gone (the id set null) never becomes a token for every tenant.
    const sneaky = await createApiToken({
      db,
      input: { name: "sneaky", role: "admin", tenant: "scope-a" },
      createdById: null,
    });
    await deleteTenant({ db, slug: "scope-a", actor });
    expect(await verifyApiToken({ db, token: scoped.token })).toBeNull();
    await sql("update api_token set revoked_at = null where name = 'sneaky'");
    expect(await verifyApiToken({ db, token: sneaky.token })).toBeNull();

    const admin = await createUser({ db, input: { email: "maker@example.com", password: PASSWORD, role: "admin" } });
    const other = await createUser({ db, input: { email: "keeper@example.com", password: PASSWORD, role: "admin" } });
    const adminToken = await createApiToken({
      db,
      input: { name: "made-admin", role: "admin" },
      createdById: admin.id,
    });
    const viewerToken = await createApiToken({
      db,
      input: { name: "made-viewer", role: "viewer" },
      createdById: admin.id,
    });
    await updateUserRole({ db, id: admin.id, input: { role: "editor" }, actor });
    expect(await verifyApiToken({ db, token: adminToken.token })).toBeNull();
    expect(await verifyApiToken({ db, token: viewerToken.token })).not.toBeNull();
    const [change] = await db.activityEntry.findMany({ where: { action: "user.role_change", target: admin.email } });
    expect(change?.summary).toContain("1 API token(s)");

    await deleteUser({ db, id: admin.id, actorId: other.id, actor });
    expect(await verifyApiToken({ db, token: viewerToken.token })).toBeNull();
    // The log keeps the e-mail after the user is gone.
    expect(await db.activityEntry.count({ where: { target: "maker@example.com" } })).toBeGreaterThanOrEqual(3);
  });
});

describe("Better Auth events", () => {
  function request(path: string, body: unknown, cookie = "", address = "198.51.100.9") {
    return new Request(`${BASE}/api/auth${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: BASE,
        cookie,
        "x-origingate-peer": address,
      },
      body: JSON.stringify(body),
    });
  }
  function cookiesOf(response: Response, jar: Map<string, string>): string {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair?.indexOf("=") ?? -1;
      if (!pair || at < 0) continue;
      const value = pair.slice(at + 1);
      if (/max-age=0/i.test(line) || value === "") jar.delete(pair.slice(0, at));
      else jar.set(pair.slice(0, at), value);
    }
    return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  it("sign-in, failed sign-in, TOTP enrolment, second-factor sign-in, a reused code refused, password change", async () => {
    const { createUser } = await import("../../server/domain/users/create-user");
    const { POST } = await import("../../app/api/auth/[...all]/route");
    const email = "twofactor@example.com";
    await createUser({ db, input: { email, password: PASSWORD, role: "editor" } });
    const mark = await lastId();

    expect((await POST(request("/sign-in/email", { email, password: "wrong-password-x" }))).status).toBe(401);
    const jar = new Map<string, string>();
    const signIn = await POST(request("/sign-in/email", { email, password: PASSWORD }));
    expect(signIn.status).toBe(200);
    let cookie = cookiesOf(signIn, jar);

    const enable = await POST(request("/two-factor/enable", { password: PASSWORD }, cookie));
    expect(enable.status, await enable.clone().text()).toBe(200);
    const { totpURI, backupCodes } = (await enable.json()) as { totpURI: string; backupCodes: string[] };
    expect(backupCodes).toHaveLength(10);
    const secret = secretFromUri(totpURI);
    const used = new Set<string>();
    const first = freshCode(secret, used);
    used.add(first);
    const verify = await POST(request("/two-factor/verify-totp", { code: first }, cookie));
    expect(verify.status, await verify.clone().text()).toBe(200);
    cookie = cookiesOf(verify, jar);

    // A fresh sign-in now asks for a code; the one used at enrolment is refused.
    const jar2 = new Map<string, string>();
    const again = await POST(request("/sign-in/email", { email, password: PASSWORD }, "", "198.51.100.10"));
    expect(await again.clone().json()).toMatchObject({ twoFactorRedirect: true });
    let challenge = cookiesOf(again, jar2);
    const replay = await POST(request("/two-factor/verify-totp", { code: first }, challenge, "198.51.100.10"));
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe("CODE_ALREADY_USED");
    const second = freshCode(secret, used);
    used.add(second);
    const ok = await POST(request("/two-factor/verify-totp", { code: second }, challenge, "198.51.100.10"));
    expect(ok.status, await ok.clone().text()).toBe(200);
    challenge = cookiesOf(ok, jar2);

    // A recovery code works once.
    const jar3 = new Map<string, string>();
    const third = await POST(request("/sign-in/email", { email, password: PASSWORD }, "", "198.51.100.11"));
    const challenge3 = cookiesOf(third, jar3);
    const recovery = await POST(
      request("/two-factor/verify-backup-code", { code: backupCodes[0] }, challenge3, "198.51.100.11"),
    );
    expect(recovery.status, await recovery.clone().text()).toBe(200);
    const jar4 = new Map<string, string>();
    const fourth = await POST(request("/sign-in/email", { email, password: PASSWORD }, "", "198.51.100.12"));
    const challenge4 = cookiesOf(fourth, jar4);
    const recoveryAgain = await POST(
      request("/two-factor/verify-backup-code", { code: backupCodes[0] }, challenge4, "198.51.100.12"),
    );
    expect(recoveryAgain.status).toBe(401);

    // A password change must end the other sessions.
    const keep = await POST(
      request(
        "/change-password",
        { currentPassword: PASSWORD, newPassword: `${PASSWORD}-2` },
        challenge,
        "198.51.100.10",
      ),
    );
    expect(keep.status).toBe(400);
    const change = await POST(
      request(
        "/change-password",
        { currentPassword: PASSWORD, newPassword: `${PASSWORD}-2`, revokeOtherSessions: true },
        challenge,
        "198.51.100.10",
      ),
    );
    expect(change.status, await change.clone().text()).toBe(200);
    const user = await db.user.findUniqueOrThrow({ where: { email } });
    expect(await db.session.count({ where: { userId: user.id } })).toBe(1);

    const actions = (await entriesAfter(mark, { target: email })).map((r) => r.action);
    expect(actions).toEqual([
      "auth.sign_in_failed",
      "auth.sign_in",
      "auth.two_factor_enable",
      "auth.sign_in_failed",
      "auth.sign_in",
      "auth.sign_in",
      "auth.sign_in_failed",
      "auth.password_change",
    ]);
    const rows = await entriesAfter(mark, { target: email });
    expect(rows[0]?.remoteAddr).toBe("198.51.100.9");
    expect(rows[3]?.summary).toContain("used already");
  });
});
