/**
 * The dashboard's policy domain functions against a real Postgres: tenant creation, the
 * savePolicy transaction (validation, optimistic concurrency, atomicity, NOTIFY at
 * commit only), revisions, diff and rollback. The document the API returns must be the
 * one the gateway builds from the same rows.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPolicy } from "../../app/_lib/policy/get-policy";
import { getRevision } from "../../app/_lib/policy/get-revision";
import { listRevisions } from "../../app/_lib/policy/list-revisions";
import { rollbackPolicy } from "../../app/_lib/policy/rollback-policy";
import { deleteTenant } from "../../app/_lib/tenants/delete-tenant";
import { listTenants } from "../../app/_lib/tenants/list-tenants";
import { rotateTenantSecret } from "../../app/_lib/tenants/rotate-tenant-secret";
import { updateTenant } from "../../app/_lib/tenants/update-tenant";
import { loadPolicy } from "../../server/db/policy-queries";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import type { AppError } from "../../server/domain/errors";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { defaultPolicyDocument } from "../../server/policy/document";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { openTokenSecret } from "../../server/secrets/tenant-token-secret";
import { rejection } from "../helpers/app-error";
import { createTestDatabase } from "../helpers/test-db";

const actor = { id: null, label: "test@example.com" };
let url: string;
let db: PrismaClient;
let pool: pg.Pool;
let counter = 0;
const slug = () => `t-${Date.now().toString(36)}-${++counter}`;

/** A document in the round-1 shape (no cors, no newer limits): it must keep saving as it did. */
function doc(origins: Array<{ pattern: string; note?: string | null; expiresAt?: string | null }>, extra: object = {}) {
  return {
    mode: "enforce",
    origins,
    credentials: "forbid",
    token: "off",
    missingOrigin: "reject",
    subprotocols: [],
    limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 10000, handshakesPerMinutePerIp: 600 },
    ...extra,
  };
}

async function tenantId(s: string): Promise<string> {
  const t = await db.tenant.findUniqueOrThrow({ where: { slug: s } });
  return t.id;
}

beforeAll(async () => {
  url = await createTestDatabase("dash_policy");
  db = createPrisma(url);
  pool = new pg.Pool({ connectionString: url, max: 3 });
});

afterAll(async () => {
  await db.$disconnect();
  await pool.end();
});

describe("createTenant", () => {
  it("creates the tenant, its restrictive default policy (version 1) and revision 1", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "Payments" }, actor });
    const policy = await getPolicy({ db, slug: s });
    expect(policy).toEqual({ version: 1, ...defaultPolicyDocument() });
    const { revisions } = await listRevisions({ db, slug: s });
    expect(revisions).toHaveLength(1);
    expect(revisions[0]).toMatchObject({ version: 1, author: actor.label, rollbackOf: null });
    const tenant = await db.tenant.findUniqueOrThrow({ where: { slug: s } });
    // Sealed at rest with the run's SECRETS_KEY; a 32-byte base64url secret inside.
    expect(tenant.tokenSecret).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(openTokenSecret(configuredSecretBox(), tenant.id, tenant.tokenSecret)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses bad slugs, non-ws upstreams and duplicates", async () => {
    await expect(createTenant({ db, input: { slug: "Bad_Slug", name: "x" }, actor })).rejects.toThrow();
    await expect(createTenant({ db, input: { slug: "-x", name: "x" }, actor })).rejects.toThrow();
    await expect(
      createTenant({ db, input: { slug: slug(), name: "x", upstreamUrl: "http://backend" }, actor }),
    ).rejects.toThrow(/ws:\/\/ or wss:\/\//);
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    const error = await rejection(createTenant({ db, input: { slug: s, name: "again" }, actor }));
    expect(error.status).toBe(409);
  });

  it("renames, sets the upstream, rotates the secret, deletes", async () => {
    const s = slug();
    await createTenant({
      db,
      input: { slug: s, name: "Old", upstreamUrl: "wss://backend.internal:9000/socket/" },
      actor,
    });
    await updateTenant({ db, slug: s, input: { name: "New", upstreamUrl: null } });
    const before = await db.tenant.findUniqueOrThrow({ where: { slug: s } });
    expect(before).toMatchObject({ name: "New", upstreamUrl: null });
    const { tokenSecret } = await rotateTenantSecret({ db, slug: s });
    const after = await db.tenant.findUniqueOrThrow({ where: { slug: s } });
    expect(after.tokenSecret).not.toContain(tokenSecret);
    expect(openTokenSecret(configuredSecretBox(), after.id, after.tokenSecret)).toBe(tokenSecret);
    expect(tokenSecret).not.toBe(openTokenSecret(configuredSecretBox(), before.id, before.tokenSecret));
    await deleteTenant({ db, slug: s });
    expect(await db.tenant.findUnique({ where: { slug: s } })).toBeNull();
    expect(await db.policyRevision.count({ where: { tenantId: before.id } })).toBe(0);
  });
});

describe("savePolicy", () => {
  it("saves a new version, normalises patterns, snapshots a revision equal to what the gateway loads", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    const result = await savePolicy({
      db,
      slug: s,
      expectedVersion: 1,
      document: doc([
        { pattern: "HTTPS://App.Example.com:443", note: "app" },
        { pattern: "https://*.example.org", expiresAt: "2099-01-01T00:00:00+01:00" },
      ]),
      actor,
      comment: "first",
    });
    expect(result.policy.version).toBe(2);
    expect(result.policy.origins).toEqual([
      { pattern: "https://*.example.org", note: null, expiresAt: "2098-12-31T23:00:00.000Z" },
      { pattern: "https://app.example.com", note: "app", expiresAt: null },
    ]);
    const fromApi = await getPolicy({ db, slug: s });
    expect(fromApi).toEqual(result.policy);
    const fromGateway = await loadPolicy(pool, await tenantId(s));
    expect(fromGateway?.version).toBe(2);
    expect({ version: fromGateway?.version, ...fromGateway?.document }).toEqual(fromApi);
    const revision = await getRevision({ db, slug: s, version: 2 });
    const { version: _v, ...withoutVersion } = fromApi;
    expect(revision.document).toEqual(withoutVersion);
    expect(revision).toMatchObject({ author: actor.label, comment: "first", diffAgainst: 1 });
    expect(revision.diff.origins.added.map((o) => o.pattern).sort()).toEqual([
      "https://*.example.org",
      "https://app.example.com",
    ]);
  });

  it("refuses an invalid document with 422 and the parser's messages; nothing is written", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    const id = await tenantId(s);
    const generation = (await db.policy.findUniqueOrThrow({ where: { tenantId: id } })).generation;
    const error = await rejection(
      savePolicy({
        db,
        slug: s,
        expectedVersion: 1,
        document: doc([{ pattern: "https://ok.example.com" }, { pattern: "https://*.com" }]),
        actor,
      }),
    );
    expect(error.status).toBe(422);
    expect(error.code).toBe("validation_failed");
    expect(error.details).toEqual([
      { path: "origins[1].pattern", message: expect.stringMatching(/public suffix|top-level/) },
    ]);
    const policy = await db.policy.findUniqueOrThrow({ where: { tenantId: id } });
    expect(policy.version).toBe(1);
    expect(policy.generation).toBe(generation);
    expect(await db.allowedOrigin.count({ where: { tenantId: id } })).toBe(0);
    expect(await db.policyRevision.count({ where: { tenantId: id } })).toBe(1);
  });

  it("returns warnings alongside a successful save", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    const result = await savePolicy({ db, slug: s, expectedVersion: 1, document: doc([{ pattern: "*" }]), actor });
    expect(result.warnings.some((w) => w.path === "origins[0].pattern")).toBe(true);
  });

  it("rolls everything back when a write fails half-way (nothing half-saved)", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    await savePolicy({ db, slug: s, expectedVersion: 1, document: doc([{ pattern: "https://a.example.com" }]), actor });
    const id = await tenantId(s);
    // Sabotage: a constraint refuses this tenant's revision 3, so the revision insert at the
    // end of the next save fails after the policy row and the allowlist were written.
    await db.$executeRawUnsafe(
      `alter table policy_revision add constraint sabotage check (tenant_id <> '${id}'::uuid or version < 3) not valid`,
    );
    try {
      await expect(
        savePolicy({ db, slug: s, expectedVersion: 2, document: doc([{ pattern: "https://b.example.com" }]), actor }),
      ).rejects.toThrow();
    } finally {
      await db.$executeRawUnsafe("alter table policy_revision drop constraint sabotage");
    }
    const policy = await getPolicy({ db, slug: s });
    expect(policy.version).toBe(2);
    expect(policy.origins.map((o) => o.pattern)).toEqual(["https://a.example.com"]);
  });

  it("detects a stale edit: 409 version_conflict with the current document and what changed", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    await savePolicy({
      db,
      slug: s,
      expectedVersion: 1,
      document: doc([{ pattern: "https://a.example.com" }]),
      actor: { id: null, label: "alice@example.com" },
      comment: "alice's change",
    });
    const error = await rejection(
      savePolicy({ db, slug: s, expectedVersion: 1, document: doc([{ pattern: "https://b.example.com" }]), actor }),
    );
    expect(error.status).toBe(409);
    expect(error.code).toBe("version_conflict");
    const details = error.details as {
      currentVersion: number;
      current: { version: number; origins: Array<{ pattern: string }> };
      changedSince: Array<{ author: string }>;
      diff: { origins: { added: Array<{ pattern: string }> } };
    };
    expect(details.currentVersion).toBe(2);
    expect(details.current.origins.map((o) => o.pattern)).toEqual(["https://a.example.com"]);
    expect(details.changedSince).toEqual([expect.objectContaining({ version: 2, author: "alice@example.com" })]);
    expect(details.diff.origins.added.map((o) => o.pattern)).toEqual(["https://a.example.com"]);
    expect((await getPolicy({ db, slug: s })).origins.map((o) => o.pattern)).toEqual(["https://a.example.com"]);
  });

  it("lets exactly one of several concurrent saves of the same version win", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    const attempts = Array.from({ length: 6 }, (_, i) =>
      savePolicy({ db, slug: s, expectedVersion: 1, document: doc([{ pattern: `https://w${i}.example.com` }]), actor }),
    );
    const results = await Promise.allSettled(attempts);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(5);
    for (const r of lost) expect((r.reason as AppError).code).toBe("version_conflict");
    const policy = await getPolicy({ db, slug: s });
    expect(policy.version).toBe(2);
    expect(policy.origins).toHaveLength(1);
    expect(await db.policyRevision.count({ where: { tenantId: await tenantId(s) } })).toBe(2);
  });

  it("updates changed notes and expiries in place and keeps unchanged entries' order", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    await savePolicy({
      db,
      slug: s,
      expectedVersion: 1,
      document: doc([{ pattern: "https://z.example.com" }, { pattern: "https://a.example.com", note: "a" }]),
      actor,
    });
    const id = await tenantId(s);
    const before = await db.allowedOrigin.findMany({ where: { tenantId: id } });
    const saved = await savePolicy({
      db,
      slug: s,
      expectedVersion: 2,
      document: doc([
        { pattern: "https://a.example.com", note: "changed", expiresAt: "2099-01-01T00:00:00Z" },
        { pattern: "https://z.example.com" },
        { pattern: "https://m.example.com" },
      ]),
      actor,
    });
    const after = await db.allowedOrigin.findMany({ where: { tenantId: id } });
    // Same rows (ids) for the two kept entries.
    for (const row of before) expect(after.find((a) => a.pattern === row.pattern)?.id).toBe(row.id);
    expect(saved.policy.origins.map((o) => o.pattern)).toEqual([
      "https://a.example.com",
      "https://z.example.com",
      "https://m.example.com",
    ]);
    const revision = await getRevision({ db, slug: s, version: 3 });
    expect(revision.diff.origins.changed).toEqual([
      {
        pattern: "https://a.example.com",
        before: { note: "a", expiresAt: null },
        after: { note: "changed", expiresAt: "2099-01-01T00:00:00.000Z" },
      },
    ]);
    expect(revision.diff.origins.added.map((o) => o.pattern)).toEqual(["https://m.example.com"]);
  });

  it("NOTIFYs policy_changed at commit, and not for a refused save", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    const id = await tenantId(s);
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    const heard: string[] = [];
    listener.on("notification", (n) => {
      if (n.payload) heard.push(n.payload);
    });
    await listener.query("listen policy_changed");
    try {
      await rejection(savePolicy({ db, slug: s, expectedVersion: 1, document: doc([{ pattern: "nope" }]), actor }));
      await rejection(savePolicy({ db, slug: s, expectedVersion: 7, document: doc([]), actor }));
      // Notifications arrive in commit order: once this marker is in, a notification from
      // the refused saves would have arrived too.
      await pool.query("select pg_notify('policy_changed', 'marker')");
      while (!heard.includes("marker")) await new Promise((r) => setTimeout(r, 10));
      expect(heard.filter((p) => p === id)).toHaveLength(0);
      await savePolicy({
        db,
        slug: s,
        expectedVersion: 1,
        document: doc([{ pattern: "https://n.example.com" }]),
        actor,
      });
      const deadline = Date.now() + 2000;
      while (!heard.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toContain(id);
    } finally {
      await listener.end();
    }
  });
});

describe("revisions and rollback", () => {
  it("diffs any two revisions and rolls back as a new revision", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "x" }, actor });
    await savePolicy({ db, slug: s, expectedVersion: 1, document: doc([{ pattern: "https://a.example.com" }]), actor });
    await savePolicy({
      db,
      slug: s,
      expectedVersion: 2,
      document: doc([{ pattern: "https://b.example.com" }], { mode: "report-only" }),
      actor,
    });
    const diff13 = await getRevision({ db, slug: s, version: 3, against: 1 });
    expect(diff13.diffAgainst).toBe(1);
    expect(diff13.diff.origins.added.map((o) => o.pattern)).toEqual(["https://b.example.com"]);
    expect(diff13.diff.origins.removed).toEqual([]);
    expect(diff13.diff.fields).toEqual([{ path: "mode", before: "enforce", after: "report-only" }]);

    const rolled = await rollbackPolicy({ db, slug: s, toVersion: 2, actor });
    expect(rolled.policy.version).toBe(4);
    expect(rolled.policy.mode).toBe("enforce");
    expect(rolled.policy.origins.map((o) => o.pattern)).toEqual(["https://a.example.com"]);
    const revision = await getRevision({ db, slug: s, version: 4 });
    expect(revision.rollbackOf).toBe(2);
    expect(revision.comment).toBe("Rollback to version 2");
    const { revisions } = await listRevisions({ db, slug: s });
    expect(revisions.map((r) => r.version)).toEqual([4, 3, 2, 1]);

    const stale = await rejection(rollbackPolicy({ db, slug: s, toVersion: 1, expectedVersion: 3, actor }));
    expect(stale.code).toBe("version_conflict");
    const missing = await rejection(rollbackPolicy({ db, slug: s, toVersion: 99, actor }));
    expect(missing.status).toBe(404);
  });

  it("lists tenants with origin count, mode, version", async () => {
    const s = slug();
    await createTenant({ db, input: { slug: s, name: "Listed" }, actor });
    await savePolicy({
      db,
      slug: s,
      expectedVersion: 1,
      document: doc([{ pattern: "https://a.example.com" }, { pattern: "https://b.example.com" }], {
        mode: "report-only",
      }),
      actor,
    });
    const row = (await listTenants({ db })).find((t) => t.slug === s);
    expect(row).toMatchObject({
      name: "Listed",
      originCount: 2,
      mode: "report-only",
      version: 2,
      sync: { live: 0, inSync: 0 },
    });
  });
});
