/**
 * The server side of policy as code, at the domain functions against a real Postgres:
 * - savePolicy writes nothing for a document equal to the stored one (allowlist order and
 *   spelling aside): no version, no revision, no NOTIFY — and still writes a change that
 *   only touches a note, an expiry or a setting;
 * - the one guard for tenants managed by code: every write path (savePolicy from the API,
 *   rollback, "allow this origin", publishing, promoting and approving a rollout) answers
 *   409 managed_by_code; the only exception is the policy PUT (`apply: true`, what
 *   `ctl policy:apply` sends) of a policy-as-code token — that token is refused on every
 *   other path too; the mark is set and cleared through updateTenant, and a save racing
 *   with the mark waits for it (tenant row FOR SHARE).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowAuditOrigin } from "../../app/_lib/audit/allow-audit-origin";
import { rollbackPolicy } from "../../app/_lib/policy/rollback-policy";
import { changeRollout } from "../../app/_lib/rollouts/change-rollout";
import { createRollout } from "../../app/_lib/rollouts/create-rollout";
import { getTenant } from "../../app/_lib/tenants/get-tenant";
import { updateTenant } from "../../app/_lib/tenants/update-tenant";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { rejection } from "../helpers/app-error";
import { createTestDatabase } from "../helpers/test-db";

const editor = { id: null, label: "editor@example.com" };
const pipeline = { id: null, label: "token:ci-policies", policyAsCode: true };
let db: PrismaClient;
let pool: pg.Pool;
let counter = 0;
const slug = () => `pac-${Date.now().toString(36)}-${++counter}`;

async function revisions(s: string): Promise<number> {
  const tenant = await db.tenant.findUniqueOrThrow({ where: { slug: s } });
  return db.policyRevision.count({ where: { tenantId: tenant.id } });
}

async function newTenant(origins: Array<{ pattern: string; note?: string; expiresAt?: string }>): Promise<string> {
  const s = slug();
  await createTenant({ db, input: { slug: s, name: s }, actor: editor, document: { origins } });
  return s;
}

beforeAll(async () => {
  const url = await createTestDatabase("pac_writes");
  db = createPrisma(url);
  pool = new pg.Pool({ connectionString: url, max: 4 });
});

afterAll(async () => {
  await db.$disconnect();
  await pool.end();
});

describe("a save of an unchanged document writes nothing", () => {
  it("same entries in another order and spelling: changed false, same version, no revision, no NOTIFY", async () => {
    const s = await newTenant([
      { pattern: "https://b.example.com", note: "b" },
      { pattern: "https://a.example.com", expiresAt: "2099-01-01T00:00:00Z" },
    ]);
    const listener = await pool.connect();
    const notified: string[] = [];
    listener.on("notification", (n) => notified.push(n.channel));
    await listener.query("listen policy_changed");
    await listener.query("listen pac_marker");
    try {
      const result = await savePolicy({
        db,
        slug: s,
        expectedVersion: 1,
        document: {
          origins: [
            { pattern: "HTTPS://A.example.com:443", expiresAt: "2099-01-01T01:00:00+01:00" },
            { pattern: "https://b.example.com", note: "b" },
          ],
        },
        actor: editor,
      });
      expect(result.changed).toBe(false);
      expect(result.policy.version).toBe(1);
      // The stored document, in stored order (first saved, then pattern).
      expect(result.policy.origins.map((o) => o.pattern)).toEqual(["https://a.example.com", "https://b.example.com"]);
      // Notifications arrive in commit order: once this marker is here, a NOTIFY from the
      // save would have arrived before it.
      await pool.query("select pg_notify('pac_marker', '')");
      await expect.poll(() => notified.includes("pac_marker")).toBe(true);
      expect(notified).not.toContain("policy_changed");
      expect(await revisions(s)).toBe(1);
    } finally {
      listener.release();
    }
  });

  it.each([
    ["a note", { origins: [{ pattern: "https://a.example.com", note: "new" }] }],
    ["an expiry", { origins: [{ pattern: "https://a.example.com", expiresAt: "2098-01-01T00:00:00Z" }] }],
    ["a setting", { origins: [{ pattern: "https://a.example.com" }], cors: { maxAgeSeconds: 5 } }],
    ["an entry swapped for another", { origins: [{ pattern: "https://c.example.com" }] }],
  ])("a change of %s is saved", async (_what, document) => {
    const s = await newTenant([{ pattern: "https://a.example.com" }]);
    const result = await savePolicy({ db, slug: s, expectedVersion: 1, document, actor: editor });
    expect(result.changed).toBe(true);
    expect(result.policy.version).toBe(2);
    expect(await revisions(s)).toBe(2);
  });

  it("a stale If-Match is still a conflict, even for an unchanged document", async () => {
    const s = await newTenant([{ pattern: "https://a.example.com" }]);
    await savePolicy({ db, slug: s, expectedVersion: 1, document: { origins: [] }, actor: editor });
    await savePolicy({
      db,
      slug: s,
      expectedVersion: 2,
      document: { origins: [{ pattern: "https://a.example.com" }] },
      actor: editor,
    });
    const error = await rejection(
      savePolicy({
        db,
        slug: s,
        expectedVersion: 1,
        document: { origins: [{ pattern: "https://a.example.com" }] },
        actor: editor,
      }),
    );
    expect(error.code).toBe("version_conflict");
  });

  it("a rollback to a document equal to the current one writes nothing", async () => {
    const s = await newTenant([{ pattern: "https://a.example.com" }]);
    await savePolicy({ db, slug: s, expectedVersion: 1, document: { origins: [] }, actor: editor });
    await savePolicy({
      db,
      slug: s,
      expectedVersion: 2,
      document: { origins: [{ pattern: "https://a.example.com" }] },
      actor: editor,
    });
    const rolled = await rollbackPolicy({ db, slug: s, toVersion: 1, actor: editor });
    expect(rolled).toMatchObject({ changed: false, policy: { version: 3 } });
    expect(await revisions(s)).toBe(3);
  });
});

describe("tenants managed by code", () => {
  const repo = "https://github.com/acme/origin-policies";

  it("refuses every write path but a policy-as-code actor with 409 managed_by_code", async () => {
    const s = await newTenant([{ pattern: "https://a.example.com" }]);
    await updateTenant({ db, slug: s, input: { managedBy: repo } });
    expect((await getTenant({ db, slug: s })).managedBy).toBe(repo);

    const put = await rejection(
      savePolicy({ db, slug: s, expectedVersion: 1, document: { origins: [] }, actor: editor }),
    );
    expect(put).toMatchObject({ status: 409, code: "managed_by_code", details: { managedBy: repo } });
    expect(put.message).toContain(repo);
    // Even an unchanged document: the guard comes first.
    expect(
      (
        await rejection(
          savePolicy({
            db,
            slug: s,
            expectedVersion: 1,
            document: { origins: [{ pattern: "https://a.example.com" }] },
            actor: editor,
          }),
        )
      ).code,
    ).toBe("managed_by_code");
    expect((await rejection(rollbackPolicy({ db, slug: s, toVersion: 1, actor: editor }))).code).toBe(
      "managed_by_code",
    );
    const { rows } = await pool.query<{ id: string }>(
      `insert into audit_event (gateway_id, kind, tenant, decision, reason, origin, origin_normalized, policy_version)
       values ('gw-test', 'handshake', $1, 'rejected', 'origin_not_allowed', 'https://b.example.com', 'https://b.example.com', 1)
       returning id::text as id`,
      [s],
    );
    const allow = await rejection(allowAuditOrigin({ db, auditDb: pool, eventId: rows[0]!.id, actor: editor }));
    expect(allow.code).toBe("managed_by_code");
    expect(await revisions(s)).toBe(1);

    const applied = await savePolicy({
      db,
      slug: s,
      expectedVersion: 1,
      document: { origins: [{ pattern: "https://b.example.com" }] },
      actor: pipeline,
      apply: true,
    });
    expect(applied).toMatchObject({ changed: true, policy: { version: 2 } });

    await updateTenant({ db, slug: s, input: { managedBy: null } });
    const edited = await savePolicy({ db, slug: s, expectedVersion: 2, document: { origins: [] }, actor: editor });
    expect(edited.policy.version).toBe(3);
  });

  it("a policy-as-code actor is refused everywhere but the apply: rollback, allow, rollout publish/promote/approve", async () => {
    const rejectedEvent = async (s: string, origin: string) => {
      const { rows } = await pool.query<{ id: string }>(
        `insert into audit_event (gateway_id, kind, tenant, decision, reason, origin, origin_normalized, policy_version)
         values ('gw-test', 'handshake', $1, 'rejected', 'origin_not_allowed', $2, $2, 1)
         returning id::text as id`,
        [s, origin],
      );
      return rows[0]!.id;
    };
    // Three tenants, prepared while nobody manages them: one with a revision to roll back to,
    // one with a shadow rollout open, one (requiring approval) with a canary waiting for it.
    const plain = await newTenant([{ pattern: "https://a.example.com" }]);
    await savePolicy({ db, slug: plain, expectedVersion: 1, document: { origins: [] }, actor: editor });
    const shadowed = await newTenant([{ pattern: "https://a.example.com" }]);
    const shadow = await createRollout({
      db,
      slug: shadowed,
      input: { document: { origins: [] }, stage: "shadow" },
      actor: editor,
    });
    expect(shadow.rollout.state).toBe("shadow");
    const approving = await newTenant([{ pattern: "https://a.example.com" }]);
    await updateTenant({ db, slug: approving, input: { requireApproval: true } });
    const waiting = await createRollout({
      db,
      slug: approving,
      input: { document: { origins: [] }, stage: "canary", canary: { percent: 10 } },
      actor: editor,
    });
    expect(waiting.rollout.state).toBe("pending_approval");
    for (const s of [plain, shadowed, approving]) await updateTenant({ db, slug: s, input: { managedBy: repo } });

    // Each path's outcome: the error code, or "written" (so a failure lists every path let through).
    const outcome = (write: Promise<unknown>) =>
      write.then(
        () => "written",
        (error: { code?: string }) => error.code ?? String(error),
      );
    const refusals = {
      "savePolicy without apply": await outcome(
        savePolicy({ db, slug: plain, expectedVersion: 2, document: { origins: [] }, actor: pipeline }),
      ),
      rollback: await outcome(rollbackPolicy({ db, slug: plain, toVersion: 1, actor: pipeline })),
      "allow this origin": await outcome(
        allowAuditOrigin({
          db,
          auditDb: pool,
          eventId: await rejectedEvent(plain, "https://c.example.com"),
          actor: pipeline,
        }),
      ),
      "publish a rollout": await outcome(
        createRollout({ db, slug: plain, input: { version: 1, stage: "shadow" }, actor: pipeline }),
      ),
      "promote a rollout": await outcome(
        changeRollout({ db, slug: shadowed, id: shadow.rollout.id, action: "promote", actor: pipeline }),
      ),
      "approve a rollout": await outcome(
        changeRollout({ db, slug: approving, id: waiting.rollout.id, action: "approve", actor: pipeline }),
      ),
    };
    expect(refusals).toEqual({
      "savePolicy without apply": "managed_by_code",
      rollback: "managed_by_code",
      "allow this origin": "managed_by_code",
      "publish a rollout": "managed_by_code",
      "promote a rollout": "managed_by_code",
      "approve a rollout": "managed_by_code",
    });
    // Nothing changed: same versions, no revision, the rollouts still where they were.
    expect(await revisions(plain)).toBe(2);
    expect(await revisions(shadowed)).toBe(2); // the first version and the shadow's
    expect(await revisions(approving)).toBe(2);
    const states = await db.policyRollout.findMany({
      where: { id: { in: [shadow.rollout.id, waiting.rollout.id] } },
      select: { id: true, state: true },
    });
    expect(Object.fromEntries(states.map((r) => [r.id, r.state]))).toEqual({
      [shadow.rollout.id]: "shadow",
      [waiting.rollout.id]: "pending_approval",
    });
    const versions = await db.policy.findMany({
      where: { tenant: { slug: { in: [plain, shadowed, approving] } } },
      select: { version: true, tenant: { select: { slug: true } } },
    });
    expect(Object.fromEntries(versions.map((p) => [p.tenant.slug, p.version]))).toEqual({
      [plain]: 2,
      [shadowed]: 1,
      [approving]: 1,
    });

    // The apply path itself still works for it.
    const applied = await savePolicy({
      db,
      slug: plain,
      expectedVersion: 2,
      document: { origins: [{ pattern: "https://d.example.com" }] },
      actor: pipeline,
      apply: true,
    });
    expect(applied).toMatchObject({ changed: true, policy: { version: 3 } });
  });

  it("on a managed tenant that requires approval, an apply waits; a person approves it, the token cannot", async () => {
    const s = await newTenant([{ pattern: "https://a.example.com" }]);
    await updateTenant({ db, slug: s, input: { requireApproval: true, managedBy: repo } });
    const applied = await savePolicy({
      db,
      slug: s,
      expectedVersion: 1,
      document: { origins: [{ pattern: "https://b.example.com" }] },
      actor: pipeline,
      apply: true,
    });
    expect(applied.pending?.state).toBe("pending_approval");
    const id = applied.pending!.id;
    const ciApprover = { id: null, label: "token:ci-approver", policyAsCode: true };
    expect((await rejection(changeRollout({ db, slug: s, id, action: "approve", actor: ciApprover }))).code).toBe(
      "managed_by_code",
    );
    expect((await db.policy.findFirstOrThrow({ where: { tenant: { slug: s } } })).version).toBe(1);

    const approved = await changeRollout({ db, slug: s, id, action: "approve", actor: editor });
    expect(approved.rollout.state).toBe("promoted");
    const active = await db.policy.findFirstOrThrow({ where: { tenant: { slug: s } } });
    expect(active.version).toBe(2);
    // The editor still cannot write the policy itself.
    expect(
      (await rejection(savePolicy({ db, slug: s, expectedVersion: 2, document: { origins: [] }, actor: editor }))).code,
    ).toBe("managed_by_code");
  });

  it("a save waits for a concurrent mark and then refuses (the tenant row is read FOR SHARE)", async () => {
    const s = await newTenant([]);
    const marker = await pool.connect();
    try {
      await marker.query("begin");
      await marker.query("update tenant set managed_by = $2 where slug = $1", [s, repo]);
      const save = savePolicy({
        db,
        slug: s,
        expectedVersion: 1,
        document: { mode: "report-only" },
        actor: editor,
      }).then(
        () => "saved",
        (error: { code?: string }) => error.code,
      );
      // The save is blocked on the marker's row lock until it commits.
      await expect
        .poll(async () => {
          const { rows } = await pool.query<{ n: number }>(
            "select count(*)::int as n from pg_locks where not granted and locktype in ('transactionid', 'tuple')",
          );
          return rows[0]!.n;
        })
        .toBeGreaterThan(0);
      await marker.query("commit");
      expect(await save).toBe("managed_by_code");
    } finally {
      marker.release();
    }
    expect(await revisions(s)).toBe(1);
  });

  it("validates the mark: trimmed, at most 300 characters, no control characters; empty clears it", async () => {
    const s = await newTenant([]);
    await expect(updateTenant({ db, slug: s, input: { managedBy: "x".repeat(301) } })).rejects.toThrow();
    await expect(updateTenant({ db, slug: s, input: { managedBy: "repo\nsecond line" } })).rejects.toThrow();
    await updateTenant({ db, slug: s, input: { managedBy: "  acme/policies  " } });
    expect((await getTenant({ db, slug: s })).managedBy).toBe("acme/policies");
    await updateTenant({ db, slug: s, input: { managedBy: "" } });
    expect((await getTenant({ db, slug: s })).managedBy).toBeNull();
  });
});
