/**
 * Accounts and credentials against a real Postgres: the one-time first-admin setup (one
 * transaction, single use, concurrent attempts), users (last admin protected) and API
 * tokens (hash only, revocation, last use).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { completeSetup, setupAvailable } from "../../app/_lib/auth/complete-setup";
import { verifyApiToken } from "../../app/_lib/tokens/verify-api-token";
import { deleteUser } from "../../app/_lib/users/delete-user";
import { updateUserRole } from "../../app/_lib/users/update-user-role";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { issueSetupTokenIfNeeded } from "../../server/db/setup-token";
import type { AppError } from "../../server/domain/errors";
import { createApiToken } from "../../server/domain/tokens/create-api-token";
import { revokeApiToken } from "../../server/domain/tokens/revoke-api-token";
import { hashApiToken } from "../../server/domain/tokens/token-format";
import { createUser } from "../../server/domain/users/create-user";
import { rejection } from "../helpers/app-error";
import { eventually } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const PASSWORD = "integration-password";
let url: string;
let db: PrismaClient;

async function issue(): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const token = await issueSetupTokenIfNeeded(client);
    if (!token) throw new Error("an admin exists already");
    return token;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  url = await createTestDatabase("dash_auth");
  db = createPrisma(url);
});

afterAll(async () => {
  await db.$disconnect();
});

describe("first-admin setup", () => {
  it("creates the admin once with the latest token; concurrent attempts cannot both win", async () => {
    expect(await setupAvailable({ db })).toBe(true);
    const old = await issue();
    const token = await issue(); // a newer start replaces the token
    const stale = await rejection(
      completeSetup({ db, input: { token: old, email: "old@example.com", password: PASSWORD } }),
    );
    expect(stale.status).toBe(403);
    const wrong = await rejection(
      completeSetup({ db, input: { token: `${token}x`, email: "x@example.com", password: PASSWORD } }),
    );
    expect(wrong.status).toBe(403);

    const attempts = await Promise.allSettled(
      ["a", "b", "c"].map((n) =>
        completeSetup({ db, input: { token, email: `${n}@example.com`, password: PASSWORD } }),
      ),
    );
    expect(attempts.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of attempts) if (r.status === "rejected") expect((r.reason as AppError).status).toBe(403);
    expect(await db.user.count({ where: { role: "admin" } })).toBe(1);
    const [row] = await db.$queryRaw<Array<{ used_at: Date | null }>>`select used_at from setup_token where id = 1`;
    expect(row?.used_at).not.toBeNull();
    expect(await setupAvailable({ db })).toBe(false);

    const admin = await db.user.findFirstOrThrow({ where: { role: "admin" }, include: { accounts: true } });
    expect(admin.accounts).toEqual([expect.objectContaining({ providerId: "credential", accountId: admin.id })]);
    expect(admin.accounts[0]?.password).not.toContain(PASSWORD);
  });

  it("refuses a short password without spending the token", async () => {
    await db.user.updateMany({ where: { role: "admin" }, data: { role: "editor" } });
    try {
      const token = await issue();
      await expect(
        completeSetup({ db, input: { token, email: "s@example.com", password: "short" } }),
      ).rejects.toThrow();
      const [row] = await db.$queryRaw<Array<{ used_at: Date | null }>>`select used_at from setup_token where id = 1`;
      expect(row?.used_at).toBeNull();
    } finally {
      await db.user.updateMany({
        where: { email: { in: ["a@example.com", "b@example.com", "c@example.com"] } },
        data: { role: "admin" },
      });
    }
  });
});

describe("users", () => {
  it("stores e-mails lowercased and refuses duplicates", async () => {
    const user = await createUser({ db, input: { email: "Mixed@Example.COM", password: PASSWORD, role: "viewer" } });
    expect(user.email).toBe("mixed@example.com");
    const dup = await rejection(
      createUser({ db, input: { email: "mixed@example.com", password: PASSWORD, role: "editor" } }),
    );
    expect(dup.status).toBe(409);
  });

  it("never demotes or removes the last admin", async () => {
    const admins = await db.user.findMany({ where: { role: "admin" } });
    // Leave exactly one admin.
    for (const extra of admins.slice(1)) await updateUserRole({ db, id: extra.id, input: { role: "editor" } });
    const last = admins[0]!;
    const demote = await rejection(updateUserRole({ db, id: last.id, input: { role: "viewer" } }));
    expect(demote.status).toBe(409);
    const remove = await rejection(deleteUser({ db, id: last.id, actorId: null }));
    expect(remove.status).toBe(409);
    const self = await rejection(deleteUser({ db, id: last.id, actorId: last.id }));
    expect(self.status).toBe(409);
    expect((await db.user.findUniqueOrThrow({ where: { id: last.id } })).role).toBe("admin");

    const other = await createUser({
      db,
      input: { email: "second-admin@example.com", password: PASSWORD, role: "admin" },
    });
    await updateUserRole({ db, id: last.id, input: { role: "viewer" } });
    await deleteUser({ db, id: last.id, actorId: other.id });
    expect(await db.user.findUnique({ where: { id: last.id } })).toBeNull();
  });
});

describe("API tokens", () => {
  it("records last use off the request path: never waited for, at most once a minute per token", async () => {
    const { token, apiToken } = await createApiToken({
      db,
      input: { name: "busy automation", role: "viewer" },
      createdById: null,
    });
    // Another transaction holds the token's row: a write of last_used_at would wait for it.
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("select 1 from api_token where id = $1 for update", [apiToken.id]);
      const writes = vi.spyOn(db.apiToken, "updateMany");
      // The requests are answered all the same; only the first one of the minute writes.
      for (let i = 0; i < 20; i++) expect((await verifyApiToken({ db, token }))?.id).toBe(apiToken.id);
      expect(writes).toHaveBeenCalledTimes(1);
      writes.mockRestore();
      expect((await db.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastUsedAt).toBeNull();
    } finally {
      await locker.query("commit");
      await locker.end();
    }
    // Once the row is free, the one write lands.
    await eventually(async () => (await db.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastUsedAt);
  });

  it("stores only the hash, verifies, records use, and stops working once revoked", async () => {
    const { token, apiToken } = await createApiToken({
      db,
      input: { name: "ci deploy", role: "editor" },
      createdById: null,
    });
    expect(token).toMatch(/^og_[A-Za-z0-9_-]{43}$/);
    const row = await db.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } });
    expect(row.tokenHash).toBe(hashApiToken(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row.prefix).toBe(token.slice(0, 10));
    expect(row.lastUsedAt).toBeNull();

    expect(await verifyApiToken({ db, token })).toEqual({
      id: apiToken.id,
      name: "ci deploy",
      role: "editor",
      policyAsCode: false,
      tenant: null,
      expiresAt: expect.any(Date),
    });
    await eventually(async () => (await db.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastUsedAt);
    // Change the last character (to a different one, whatever it was).
    const tampered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    expect(await verifyApiToken({ db, token: tampered })).toBeNull();
    expect(await verifyApiToken({ db, token: "og_short" })).toBeNull();

    await revokeApiToken({ db, id: apiToken.id });
    await revokeApiToken({ db, id: apiToken.id }); // idempotent
    expect(await verifyApiToken({ db, token })).toBeNull();
    await expect(revokeApiToken({ db, id: "00000000-0000-4000-8000-000000000000" })).rejects.toThrow(/not found/);
    await expect(revokeApiToken({ db, id: "not-a-uuid" })).rejects.toThrow(/not found/);
  });
});
