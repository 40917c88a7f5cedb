/**
 * Staged rollout and approvals (SPEC §5.2, issue 14 items 2 and 5) end to end: the
 * dashboard's domain functions write rollouts into a real Postgres, and two real gateway
 * processes (one labelled `canary` through GATEWAY_LABELS) enforce them through NOTIFY and
 * reconciliation, decided by real WebSocket handshakes.
 *
 *  - shadow: clients see exactly the active version's decisions; the audit rows carry the
 *    staged version's decision only where it differs; the shadow summary counts them;
 *  - promote makes the staged version real at both gateways;
 *  - canary by label applies on the labelled gateway only; abort leaves no trace in
 *    enforcement (and 409 rollout_in_progress meanwhile);
 *  - an open shadow moves to canary keeping its version (a step with who/when/comment),
 *    then is promoted at that version; on a tenant that requires approval the move waits for
 *    a second person, and a canary by percent then applies to its clients at every gateway;
 *  - the guard aborts a bad canary by itself (step, activity entry);
 *  - approval required: a save waits as pending_approval, its author cannot approve it
 *    (403 self_approval), a second person's approval makes it real.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getShadowSummary } from "../../app/_lib/audit/get-shadow-summary";
import { getPolicy } from "../../app/_lib/policy/get-policy";
import { changeRollout } from "../../app/_lib/rollouts/change-rollout";
import { createRollout } from "../../app/_lib/rollouts/create-rollout";
import { getRollout } from "../../app/_lib/rollouts/list-rollouts";
import { canaryRolloutInput } from "../../app/_lib/rollouts/rollout-input";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { canaryBucket } from "../../server/policy-store/staged-policy";
import { rejection } from "../helpers/app-error";
import { createTenant, query } from "../helpers/fixtures";
import { eventually, handshake, type ProcessGateway, spawnGateway } from "../helpers/gateway";
import { enforcingDocument } from "../helpers/policy-documents";
import { createTestDatabase } from "../helpers/test-db";

const A = "https://a.example.com";
const B = "https://b.example.com";
const C = "https://c.example.com";

const alice = { id: "user-alice", label: "alice@example.com", kind: "user" as const };
const bob = { id: "user-bob", label: "bob@example.com", kind: "user" as const };

const doc = enforcingDocument;

let url: string;
let db: PrismaClient;
let pool: pg.Pool;
let labelled: ProcessGateway;
let plain: ProcessGateway;

async function status(gw: ProcessGateway, slug: string, origin: string): Promise<number> {
  const o = await handshake(`${gw.wsUrl}/t/${slug}/x`, { origin });
  o.ws?.close();
  return o.status;
}

/** Waits until both gateways report (heartbeat) this tenant's staged version as `expected` (null: none). */
async function stagedEverywhere(slug: string, expected: { labelled: unknown; plain: unknown }) {
  await eventually(async () => {
    const rows = await query<{ id: string; staged: Record<string, unknown> }>(
      url,
      "select id, staged_versions as staged from gateway_instance where id = any($1)",
      [[labelled.id, plain.id]],
    );
    // jsonb orders keys its own way: compare the fields.
    const of = (id: string) => {
      const staged = rows.find((r) => r.id === id)?.staged[slug] as { version: number; stage: string } | undefined;
      return staged ? JSON.stringify({ version: staged.version, stage: staged.stage }) : "null";
    };
    return of(labelled.id) === JSON.stringify(expected.labelled) && of(plain.id) === JSON.stringify(expected.plain);
  }, 15_000);
}

beforeAll(async () => {
  url = await createTestDatabase("rollout");
  db = createPrisma(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
  [labelled, plain] = await Promise.all([
    spawnGateway(url, { GATEWAY_LABELS: "canary, eu-west", AUDIT_FLUSH_MS: "50" }),
    spawnGateway(url, { AUDIT_FLUSH_MS: "50" }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([labelled?.stop(), plain?.stop()]);
  await db?.$disconnect();
  await pool?.end();
});

describe("shadow, then promote", () => {
  it("records the shadow version's differing decisions while clients see the active version; promote makes it real everywhere", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    await eventually(
      async () => (await status(plain, tenant.slug, A)) === 101 && (await status(labelled, tenant.slug, A)) === 101,
      15_000,
    );

    const { rollout } = await createRollout({
      db,
      slug: tenant.slug,
      input: { document: doc([B]), stage: "shadow", comment: "swap a for b" },
      actor: alice,
    });
    expect(rollout).toMatchObject({ version: 2, baseVersion: 1, stage: "shadow", open: true });
    await stagedEverywhere(tenant.slug, {
      labelled: { version: 2, stage: "shadow" },
      plain: { version: 2, stage: "shadow" },
    });

    // Nothing changes for clients, at either gateway; the API still answers the active version.
    // (Counted from here: handshakes from before both gateways held the shadow are not its.)
    const shadowFrom = new Date();
    for (const gw of [plain, labelled]) {
      expect(await status(gw, tenant.slug, A)).toBe(101);
      expect(await status(gw, tenant.slug, B)).toBe(403);
      expect(await status(gw, tenant.slug, C)).toBe(403);
    }
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);

    // The audit rows carry the shadow decision only where it differs (A and B, never C).
    const rows = await eventually(async () => {
      const r = await query<{
        origin: string;
        decision: string;
        shadow_decision: string | null;
        shadow_reason: string | null;
        shadow_version: number | null;
        policy_version: number;
        n: string;
      }>(
        url,
        `select origin, decision::text, shadow_decision::text, shadow_reason, shadow_version, policy_version, sum(count)::text as n
           from audit_event where tenant = $1 and kind = 'handshake' and ts >= $2
          group by 1, 2, 3, 4, 5, 6 order by 1`,
        [tenant.slug, shadowFrom],
      );
      return r.reduce((n, x) => n + Number(x.n), 0) >= 6 ? r : null;
    }, 15_000);
    expect(rows.map(({ n: _n, ...r }) => r)).toEqual([
      {
        origin: A,
        decision: "accepted",
        shadow_decision: "rejected",
        shadow_reason: "origin_not_allowed",
        shadow_version: 2,
        policy_version: 1,
      },
      {
        origin: B,
        decision: "rejected",
        shadow_decision: "accepted",
        shadow_reason: "allowed",
        shadow_version: 2,
        policy_version: 1,
      },
      {
        origin: C,
        decision: "rejected",
        shadow_decision: null,
        shadow_reason: null,
        shadow_version: null,
        policy_version: 1,
      },
    ]);

    const summary = await getShadowSummary({ db: pool, query: { tenant: tenant.slug, version: 2, limit: 100 } });
    expect(summary.totals).toEqual({ newlyRefused: 2, newlyAllowed: 2, otherwiseDifferent: 0 });
    expect(summary.origins.map((o) => [o.origin, o.decision, o.shadowDecision, o.count])).toEqual(
      expect.arrayContaining([
        [A, "accepted", "rejected", 2],
        [B, "rejected", "accepted", 2],
      ]),
    );

    // Another write while a rollout is open is refused.
    const busy = await rejection(
      savePolicy({ db, slug: tenant.slug, expectedVersion: 1, document: doc([A, C]), actor: alice }),
    );
    expect([busy.status, busy.code]).toEqual([409, "rollout_in_progress"]);
    const second = await rejection(
      createRollout({ db, slug: tenant.slug, input: { document: doc([C]), stage: "shadow" }, actor: alice }),
    );
    expect(second.code).toBe("rollout_in_progress");

    // Promote: the staged version is the active one at every gateway.
    const promoted = await changeRollout({
      db,
      slug: tenant.slug,
      id: rollout.id,
      action: "promote",
      actor: bob,
      comment: "shadow looked right",
    });
    expect(promoted.pending).toBe(false);
    expect(promoted.rollout.stage).toBe("promoted");
    expect(promoted.rollout.steps?.map((s) => [s.action, s.actor, s.comment])).toEqual([
      ["shadow", alice.label, "swap a for b"],
      ["promoted", bob.label, "shadow looked right"],
    ]);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(2);
    for (const gw of [plain, labelled]) {
      await eventually(async () => (await status(gw, tenant.slug, B)) === 101, 15_000);
      expect(await status(gw, tenant.slug, A)).toBe(403);
    }
    await stagedEverywhere(tenant.slug, { labelled: null, plain: null });
    const revision = await db.policyRevision.findFirstOrThrow({ where: { tenantId: tenant.id, version: 2 } });
    expect(revision.stage).toBe("shadow");
  }, 90_000);
});

describe("canary by label, then abort", () => {
  it("applies on the labelled gateway only, and abort leaves no trace in enforcement", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    await eventually(
      async () => (await status(plain, tenant.slug, A)) === 101 && (await status(labelled, tenant.slug, A)) === 101,
      15_000,
    );

    const { rollout } = await createRollout({
      db,
      slug: tenant.slug,
      input: { document: doc([A, C]), stage: "canary", canary: { labels: ["canary"] } },
      actor: alice,
    });
    expect(rollout).toMatchObject({ stage: "canary", canary: { labels: ["canary"], percent: null } });
    await stagedEverywhere(tenant.slug, { labelled: { version: 2, stage: "canary" }, plain: null });
    expect(await status(labelled, tenant.slug, C)).toBe(101);
    expect(await status(plain, tenant.slug, C)).toBe(403);
    expect(await status(plain, tenant.slug, A)).toBe(101);

    const aborted = await changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "abort", actor: bob });
    expect(aborted.rollout).toMatchObject({ stage: "aborted", open: false, closedBy: bob.label });
    await eventually(async () => (await status(labelled, tenant.slug, C)) === 403, 15_000);
    await stagedEverywhere(tenant.slug, { labelled: null, plain: null });
    for (const gw of [plain, labelled]) {
      expect(await status(gw, tenant.slug, A)).toBe(101);
      expect(await status(gw, tenant.slug, C)).toBe(403);
    }
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);

    // Closed: it cannot be promoted any more; the next version skips the aborted number.
    const late = await rejection(
      changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "promote", actor: bob }),
    );
    expect([late.status, late.code]).toEqual([409, "rollout_not_open"]);
    const saved = await savePolicy({ db, slug: tenant.slug, expectedVersion: 1, document: doc([A, B]), actor: alice });
    expect(saved.policy.version).toBe(3);
  }, 60_000);
});

describe("shadow, then canary of the same version", () => {
  it("moves an open shadow to canary keeping its version, by label at the labelled gateway only; then promotes it", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    await eventually(
      async () => (await status(plain, tenant.slug, A)) === 101 && (await status(labelled, tenant.slug, A)) === 101,
      15_000,
    );
    const { rollout } = await createRollout({
      db,
      slug: tenant.slug,
      input: { document: doc([A, C]), stage: "shadow", comment: "try c" },
      actor: alice,
    });
    expect(rollout).toMatchObject({ version: 2, stage: "shadow", canary: null, guard: null });
    await stagedEverywhere(tenant.slug, {
      labelled: { version: 2, stage: "shadow" },
      plain: { version: 2, stage: "shadow" },
    });
    expect(await status(labelled, tenant.slug, C)).toBe(403);

    // A move needs labels or a percent: changeRollout's own check (422), the route's too; the
    // body's shape is checked at the boundary.
    const empty = await rejection(
      changeRollout({
        db,
        slug: tenant.slug,
        id: rollout.id,
        action: "canary",
        actor: bob,
        canary: { labels: [], percent: null },
      }),
    );
    expect([empty.status, empty.code]).toEqual([422, "validation_failed"]);
    expect(() => canaryRolloutInput.parse({ canary: { percent: 100 } })).toThrow();
    expect(() => canaryRolloutInput.parse({ canary: { labels: ["not a label!"] } })).toThrow();

    const moved = await changeRollout({
      db,
      slug: tenant.slug,
      id: rollout.id,
      action: "canary",
      actor: bob,
      comment: "canary on the labelled gateway",
      canary: { labels: ["canary"], percent: null },
      guard: { maxNewRefusalsPerMinute: 1000 },
    });
    expect(moved.pending).toBe(false);
    expect(moved.rollout).toMatchObject({
      id: rollout.id,
      version: 2,
      stage: "canary",
      canary: { labels: ["canary"], percent: null },
      guard: { maxNewRefusalsPerMinute: 1000 },
      open: true,
    });
    expect(moved.rollout.steps?.map((st) => [st.action, st.from, st.to, st.actor, st.comment])).toEqual([
      ["shadow", null, "shadow", alice.label, "try c"],
      ["canary", "shadow", "canary", bob.label, "canary on the labelled gateway"],
    ]);
    await stagedEverywhere(tenant.slug, { labelled: { version: 2, stage: "canary" }, plain: null });
    expect(await status(labelled, tenant.slug, C)).toBe(101);
    expect(await status(plain, tenant.slug, C)).toBe(403);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);
    // No new version: the canary is version 2, the revision published as shadow.
    const revisions = await query<{ version: number; stage: string | null }>(
      url,
      "select version, stage::text as stage from policy_revision where tenant_id = $1 order by version",
      [tenant.id],
    );
    expect(revisions).toEqual([
      { version: 1, stage: null },
      { version: 2, stage: "shadow" },
    ]);
    const activity = await query<{ actor: string; summary: string }>(
      url,
      "select actor, summary from activity where action = 'rollout.canary' and target = $1",
      [tenant.slug],
    );
    expect(activity).toEqual([
      {
        actor: bob.label,
        summary: "Moved version 2 from shadow to canary (gateways labelled canary): canary on the labelled gateway",
      },
    ]);

    // Only a shadow moves to canary.
    const again = await rejection(
      changeRollout({
        db,
        slug: tenant.slug,
        id: rollout.id,
        action: "canary",
        actor: bob,
        canary: { labels: [], percent: 50 },
      }),
    );
    expect([again.status, again.code]).toEqual([409, "rollout_not_open"]);

    const promoted = await changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "promote", actor: alice });
    expect(promoted.rollout.steps?.map((st) => st.action)).toEqual(["shadow", "canary", "promoted"]);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(2);
    for (const gw of [plain, labelled])
      await eventually(async () => (await status(gw, tenant.slug, C)) === 101, 15_000);
    const next = await savePolicy({ db, slug: tenant.slug, expectedVersion: 2, document: doc([A]), actor: alice });
    expect(next.policy.version).toBe(3);
  }, 60_000);
});

describe("the guard", () => {
  it("aborts a canary that refuses what the active version admits, by itself", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A, B] } });
    await eventually(async () => (await status(labelled, tenant.slug, B)) === 101, 15_000);
    // An alert rule for guard aborts of this tenant (server/alerts/): the abort raises it.
    await query(
      url,
      "insert into alert_rule (id, name, kind, tenant) values (gen_random_uuid(), 'guard', 'rollout_guard_tripped', $1)",
      [tenant.slug],
    );
    const { rollout } = await createRollout({
      db,
      slug: tenant.slug,
      input: {
        document: doc([A]),
        stage: "canary",
        canary: { labels: ["canary"] },
        guard: { maxNewRefusalsPerMinute: 2 },
      },
      actor: alice,
    });
    await stagedEverywhere(tenant.slug, { labelled: { version: 2, stage: "canary" }, plain: null });
    // The bad canary refuses B at the labelled gateway until its guard trips (> 2 in a minute).
    await eventually(async () => {
      await status(labelled, tenant.slug, B);
      const [row] = await query<{ state: string }>(url, "select state::text from policy_rollout where id = $1", [
        rollout.id,
      ]);
      return row?.state === "aborted";
    }, 20_000);
    const detail = await getRollout({ db, slug: tenant.slug, id: rollout.id });
    expect(detail.closedBy).toBe(`guard:${labelled.id}`);
    expect(detail.steps?.at(-1)).toMatchObject({ action: "guard_tripped", from: "canary", to: "aborted" });
    const activity = await query<{ action: string; target: string }>(
      url,
      "select action, target from activity where action = 'rollout.guard_abort' and target = $1",
      [tenant.slug],
    );
    expect(activity).toHaveLength(1);
    // The labelled gateway raised the guard's alert once, keyed by the rollout.
    await eventually(async () => {
      const alerts = await query<{ key: string }>(
        url,
        "select key from alert where kind = 'rollout_guard_tripped' and tenant = $1",
        [tenant.slug],
      );
      return alerts.length === 1 && alerts[0]!.key === rollout.id;
    }, 15_000);
    await eventually(async () => (await status(labelled, tenant.slug, B)) === 101, 15_000);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);
  }, 60_000);
});

describe("approvals (two-person rule)", () => {
  it("a change waits for a second person; its author cannot approve it", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    await query(url, "update tenant set require_approval = true where id = $1", [tenant.id]);
    await eventually(async () => (await status(plain, tenant.slug, A)) === 101, 15_000);

    const saved = await savePolicy({
      db,
      slug: tenant.slug,
      expectedVersion: 1,
      document: doc([A, B]),
      actor: alice,
      comment: "add b",
    });
    expect(saved.changed).toBe(false);
    expect(saved.pending).toMatchObject({ stage: "pending_approval", requestedStage: "promoted", version: 2 });
    const id = saved.pending!.id;
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);
    expect(await status(plain, tenant.slug, B)).toBe(403);

    // Cannot activate it: promote is not possible while pending, and the author cannot approve.
    const early = await rejection(changeRollout({ db, slug: tenant.slug, id, action: "promote", actor: alice }));
    expect(early.code).toBe("rollout_not_open");
    const self = await rejection(changeRollout({ db, slug: tenant.slug, id, action: "approve", actor: alice }));
    expect([self.status, self.code]).toEqual([403, "self_approval"]);
    // The same person through another name is still the author (same user id).
    const sameUser = await rejection(
      changeRollout({
        db,
        slug: tenant.slug,
        id,
        action: "approve",
        actor: { ...alice, label: "alice@other.example" },
      }),
    );
    expect(sameUser.code).toBe("self_approval");
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);

    const approved = await changeRollout({ db, slug: tenant.slug, id, action: "approve", actor: bob, comment: "ok" });
    expect(approved.rollout).toMatchObject({ stage: "promoted", approvedBy: bob.label });
    expect(approved.rollout.steps?.map((s) => [s.action, s.actor])).toEqual([
      ["requested", alice.label],
      ["approved", bob.label],
    ]);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(2);
    for (const gw of [plain, labelled])
      await eventually(async () => (await status(gw, tenant.slug, B)) === 101, 15_000);
  }, 60_000);

  it("leaving shadow for canary waits for a second person; approved, a canary by percent applies to its clients at every gateway", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    await query(url, "update tenant set require_approval = true where id = $1", [tenant.id]);
    await eventually(async () => (await status(plain, tenant.slug, A)) === 101, 15_000);
    const { rollout } = await createRollout({
      db,
      slug: tenant.slug,
      input: { document: doc([A, C]), stage: "shadow" },
      actor: alice,
    });
    expect(rollout.stage).toBe("shadow");
    // The bucket of this test's client address, as the gateway recorded it: a percent one above covers it.
    const recorded = await eventually(async () => {
      const rows = await query<{ remote_addr: string }>(
        url,
        "select remote_addr from audit_event where tenant = $1 and kind = 'handshake' limit 1",
        [tenant.slug],
      );
      return rows[0]?.remote_addr ?? null;
    }, 15_000);
    const bucket = canaryBucket(recorded);
    expect(bucket).toBeLessThan(99);

    const asked = await changeRollout({
      db,
      slug: tenant.slug,
      id: rollout.id,
      action: "canary",
      actor: alice,
      comment: "ready for clients",
      canary: { labels: [], percent: bucket + 1 },
    });
    expect(asked.pending).toBe(true);
    expect(asked.rollout).toMatchObject({
      version: 2,
      stage: "pending_approval",
      requestedStage: "canary",
      canary: { labels: [], percent: bucket + 1 },
    });
    // Waiting: no gateway applies it, not even as shadow.
    await stagedEverywhere(tenant.slug, { labelled: null, plain: null });
    expect(await status(plain, tenant.slug, C)).toBe(403);
    const self = await rejection(
      changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "approve", actor: alice }),
    );
    expect([self.status, self.code]).toEqual([403, "self_approval"]);

    const approved = await changeRollout({
      db,
      slug: tenant.slug,
      id: rollout.id,
      action: "approve",
      actor: bob,
      comment: "go",
    });
    expect(approved.rollout).toMatchObject({ version: 2, stage: "canary", approvedBy: bob.label });
    expect(approved.rollout.steps?.map((st) => [st.action, st.to, st.actor])).toEqual([
      ["shadow", "shadow", alice.label],
      ["requested", "pending_approval", alice.label],
      ["approved", "canary", bob.label],
    ]);
    // A percentage applies on every gateway, to the clients in its buckets: this one is.
    await stagedEverywhere(tenant.slug, {
      labelled: { version: 2, stage: "canary" },
      plain: { version: 2, stage: "canary" },
    });
    expect(await status(plain, tenant.slug, C)).toBe(101);
    expect(await status(labelled, tenant.slug, C)).toBe(101);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);
    // Approved once: its promotion needs no second approval, and keeps the version.
    const promoted = await changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "promote", actor: alice });
    expect(promoted.pending).toBe(false);
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(2);
  }, 60_000);

  it("a shadow needs no approval, its promotion does; a rejected change is never enforced", async () => {
    const tenant = await createTenant(url, { policy: { origins: [A] } });
    await query(url, "update tenant set require_approval = true where id = $1", [tenant.id]);
    const { rollout } = await createRollout({
      db,
      slug: tenant.slug,
      input: { document: doc([A, C]), stage: "shadow" },
      actor: alice,
    });
    expect(rollout.stage).toBe("shadow");
    const asked = await changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "promote", actor: alice });
    expect(asked.pending).toBe(true);
    expect(asked.rollout).toMatchObject({ stage: "pending_approval", requestedStage: "promoted" });
    // Whoever requested it cannot approve it either.
    expect(
      (await rejection(changeRollout({ db, slug: tenant.slug, id: rollout.id, action: "approve", actor: alice }))).code,
    ).toBe("self_approval");
    const rejected = await changeRollout({
      db,
      slug: tenant.slug,
      id: rollout.id,
      action: "reject",
      actor: bob,
      comment: "no",
    });
    expect(rejected.rollout).toMatchObject({ stage: "rejected", open: false });
    expect((await getPolicy({ db, slug: tenant.slug })).version).toBe(1);
    await eventually(async () => (await status(plain, tenant.slug, A)) === 101, 15_000);
    expect(await status(plain, tenant.slug, C)).toBe(403);

    // A canary on such a tenant waits for approval too, then runs once approved.
    const canary = await createRollout({
      db,
      slug: tenant.slug,
      input: { document: doc([A, C]), stage: "canary", canary: { labels: ["canary"] } },
      actor: alice,
    });
    expect(canary.rollout).toMatchObject({ stage: "pending_approval", requestedStage: "canary" });
    const running = await changeRollout({
      db,
      slug: tenant.slug,
      id: canary.rollout.id,
      action: "approve",
      actor: bob,
    });
    expect(running.rollout.stage).toBe("canary");
    await eventually(async () => (await status(labelled, tenant.slug, C)) === 101, 15_000);
    expect(await status(plain, tenant.slug, C)).toBe(403);
    // Approved once: promoting the canary needs no second approval.
    const promoted = await changeRollout({
      db,
      slug: tenant.slug,
      id: canary.rollout.id,
      action: "promote",
      actor: alice,
    });
    expect(promoted.rollout.stage).toBe("promoted");
    await eventually(async () => (await status(plain, tenant.slug, C)) === 101, 15_000);
  }, 60_000);
});
