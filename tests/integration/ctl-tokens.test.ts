/**
 * `ctl token:create --expires-days N --tenant S` (SPEC §7) as a real process against a real
 * database, as `npm run ctl` runs it: the token it prints is stored with that expiry and that
 * tenant scope, verifies as such, and stops verifying when it expires; without the flags it
 * gets the default lifetime and every tenant; bad values exit non-zero with a clear message
 * and create nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyApiToken } from "../../app/_lib/tokens/verify-api-token";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { type CliRun, runCtl } from "../helpers/run-cli";
import { createTestDatabase } from "../helpers/test-db";

const DAY_MS = 24 * 60 * 60 * 1000;
let url: string;
let db: PrismaClient;

beforeAll(async () => {
  url = await createTestDatabase("ctl_tokens");
  db = createPrisma(url);
});

afterAll(async () => {
  await db.$disconnect();
});

function ctl(...args: string[]): Promise<CliRun> {
  // The defaults of API_TOKEN_DEFAULT_DAYS / API_TOKEN_MAX_DAYS (90 / 365), whatever the shell says.
  return runCtl(args, { ...withoutTokenDays(process.env), DATABASE_URL: url });
}

function withoutTokenDays(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { API_TOKEN_DEFAULT_DAYS: _default, API_TOKEN_MAX_DAYS: _max, ...rest } = env;
  return rest;
}

async function newTenant(slug: string): Promise<void> {
  await createTenant({ db, input: { slug, name: slug }, actor: { id: null, label: "test" }, document: {} });
}

describe("ctl token:create", () => {
  it("--expires-days N --tenant S: the printed token expires in N days and is limited to S", async () => {
    await newTenant("ctl-scope");
    await newTenant("ctl-other");
    const before = Date.now();
    const run = await ctl(
      "token:create",
      "--name",
      "ci-deploy",
      "--role",
      "editor",
      "--expires-days",
      "7",
      "--tenant",
      "ctl-scope",
    );
    const after = Date.now();
    expect(run.code, run.stderr).toBe(0);
    const token = run.stdout.trim();
    expect(token).toMatch(/^og_\S+$/);
    expect(run.stderr).toContain('created API token "ci-deploy" (editor, tenant ctl-scope only, expires');

    const row = await db.apiToken.findFirstOrThrow({ where: { name: "ci-deploy" } });
    const scope = await db.tenant.findUniqueOrThrow({ where: { slug: "ctl-scope" } });
    expect(row).toMatchObject({ role: "editor", scopeTenant: "ctl-scope", scopeTenantId: scope.id, revokedAt: null });
    // Seven days from when it ran (the column keeps milliseconds).
    expect(row.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 7 * DAY_MS);
    expect(row.expiresAt.getTime()).toBeLessThanOrEqual(after + 7 * DAY_MS);
    expect(run.stderr).toContain(`expires ${row.expiresAt.toISOString()}`);

    // The token as the dashboard sees it: this tenant only, until then, and not after.
    const verified = await verifyApiToken({ db, token });
    expect(verified).toMatchObject({ name: "ci-deploy", role: "editor", tenant: "ctl-scope", policyAsCode: false });
    expect(verified?.expiresAt.getTime()).toBe(row.expiresAt.getTime());
    expect(await verifyApiToken({ db, token, now: row.expiresAt.getTime() - 1 })).not.toBeNull();
    expect(await verifyApiToken({ db, token, now: row.expiresAt.getTime() })).toBeNull();

    // And `token:list` shows the same.
    const list = await ctl("token:list");
    expect(list.code, list.stderr).toBe(0);
    const line = list.stdout.split("\n").find((l) => l.endsWith(" ci-deploy"));
    expect(line).toContain(`expires ${row.expiresAt.toISOString()}  tenant:ctl-scope`);
  });

  it("without the flags: the default 90 days and every tenant", async () => {
    const before = Date.now();
    const run = await ctl("token:create", "--name", "ops-default", "--role", "viewer");
    const after = Date.now();
    expect(run.code, run.stderr).toBe(0);
    const row = await db.apiToken.findFirstOrThrow({ where: { name: "ops-default" } });
    expect(row.scopeTenant).toBeNull();
    expect(row.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 90 * DAY_MS);
    expect(row.expiresAt.getTime()).toBeLessThanOrEqual(after + 90 * DAY_MS);
    expect((await verifyApiToken({ db, token: run.stdout.trim() }))?.tenant).toBeNull();
  });

  // Exit 2 for a usage error (the flag's form), 1 for a refusal (the value's meaning), as ctl's usage says.
  it.each([
    [["--expires-days", "0"], 2, "--expires-days must be a whole number of days (1 or more)"],
    [["--expires-days", "1.5"], 2, "--expires-days must be a whole number of days (1 or more)"],
    [
      ["--expires-days", "366"],
      1,
      "The token would live too long\n  --expires-days: at most 365 days (API_TOKEN_MAX_DAYS)",
    ],
    [["--tenant", "no-such-tenant"], 1, 'Tenant "no-such-tenant" not found'],
  ])("%j exits %i with a clear message and creates nothing", async (flags, code, message) => {
    const name = `refused-${flags.join("")}`;
    const run = await ctl("token:create", "--name", name, "--role", "editor", ...flags);
    expect(run.code).toBe(code);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe("");
    expect(await db.apiToken.count({ where: { name } })).toBe(0);
  });
});
