/**
 * savePolicy: the one way a policy changes (API PUT, dashboard editors, rollback, the audit
 * page's "allow this origin"). In ONE transaction:
 *
 *   lock the policy row (SELECT ... FOR UPDATE) -> compare the expected version
 *   (optimistic concurrency: stale -> 409 version_conflict with the current document and
 *   what changed meanwhile) -> update the policy row (version + 1) -> apply the allowlist
 *   as a set difference (delete removed, insert added, update changed note/expiry) ->
 *   read the result back -> insert the PolicyRevision snapshot.
 *
 * Checks before the write: a tenant managed by code is written only by the policy PUT
 * (`apply: true`) of a policy-as-code token (assertPolicyWritable: 409 managed_by_code
 * otherwise, rollback and "allow this origin" included); while a staged rollout is
 * open nothing else is saved (409 rollout_in_progress, SPEC §5.2); a document equal to the
 * stored one writes nothing (unchangedPolicy: the current version is returned with
 * `changed: false`, no revision), so every PUT is idempotent; and a tenant that requires
 * approval gets a rollout in `pending_approval` instead of a new active version (`pending`
 * in the result: 202 for the API), which a second person approves (app/_lib/rollouts/).
 *
 * Version numbers: a staged version takes the next number too, so a new version is one
 * above the highest of the active version and every revision (an aborted rollout's number
 * is never reused).
 *
 * Validation (server/policy validatePolicy, the gateway's own rules) runs before anything
 * is written: errors -> 422 with details [{ path, message }] and warnings; nothing saved.
 * The NOTIFY to gateways comes from the migration's triggers at commit, so a failed or
 * rolled-back save notifies nobody.
 */

import "server-only";
import type { Db, PrismaClient } from "../../db/prisma";
import { type PolicyDocument, parsePolicyDocument } from "../../policy/document";
import { normalizePolicyDocument, validatePolicy } from "../../policy/validate-policy";
import { type Actor, recordActivity } from "../activity/record-activity";
import { AppError, validationError } from "../errors";
import { assertNoOpenRollout } from "../rollouts/assert-no-open-rollout";
import { openRolloutInTx } from "../rollouts/open-rollout";
import type { RolloutView } from "../rollouts/rollout-view";
import { findTenant } from "../tenants/find-tenant";
import { assertPolicyWritable } from "./assert-policy-writable";
import { authorIdOf } from "./author-id";
import { diffDocuments, type PolicyDiff } from "./diff-documents";
import { ORIGIN_ORDER, policyColumns, toJsonValue, toPolicyDocument, type VersionedPolicyDocument } from "./document";
import { unchangedPolicy } from "./unchanged-policy";

export interface PolicyWarning {
  path: string;
  message: string;
}

export type { Actor };

/** What the activity log says about a save (rollback and "allow this origin" say more than `policy.save`). */
export interface SaveActivity {
  action: string;
  summary: string;
}

export interface SavePolicyOptions {
  db: PrismaClient;
  slug: string;
  /** The version the edit started from (If-Match); "current" only for rollback and internal callers. */
  expectedVersion: number | "current";
  /** Untrusted input: validated here. A `version` field is tolerated and must equal expectedVersion. */
  document: unknown;
  actor: Actor;
  comment?: string | null;
  rollbackOf?: number | null;
  now?: Date;
  /** The activity entry; default `policy.save` with the version and the comment. */
  activity?: SaveActivity;
  /**
   * The policy PUT, i.e. what `ctl policy:apply` sends: the only write path on which a
   * policy-as-code token may change a tenant managed by code. Only that route sets it.
   */
  apply?: boolean;
}

export interface SavePolicyResult {
  policy: VersionedPolicyDocument;
  warnings: PolicyWarning[];
  /** False when the document equalled the stored one: nothing was written. */
  changed: boolean;
  /** The tenant requires approval: nothing was saved, this rollout waits for a second person. */
  pending?: RolloutView;
}

export interface VersionConflictDetails {
  expectedVersion: number;
  currentVersion: number;
  current: VersionedPolicyDocument;
  /** Revisions saved after the expected version, oldest first. */
  changedSince: Array<{ version: number; author: string; comment: string | null; createdAt: string }>;
  /** What those revisions changed, from the expected version to the current one. */
  diff: PolicyDiff;
}

export const MAX_COMMENT_LENGTH = 500;
/**
 * A policy PUT's body limit (413 beyond): room for the largest allowlist the engine accepts
 * (MAX_POLICY_ORIGINS entries, 422 beyond) with notes; every other request is limited to
 * app/_lib/api/api-route.ts MAX_JSON_BODY_BYTES.
 */
export const MAX_POLICY_BODY_BYTES = 16 * 1024 * 1024;

export function checkPolicyDocument(
  document: unknown,
  now: Date,
): { document: PolicyDocument; warnings: PolicyWarning[] } {
  const issues = validatePolicy(document, now);
  const errors = issues.filter((i) => i.severity === "error").map(({ path, message }) => ({ path, message }));
  const warnings = issues.filter((i) => i.severity === "warning").map(({ path, message }) => ({ path, message }));
  if (errors.length > 0) {
    throw validationError(
      `The policy has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was saved`,
      errors,
      { warnings },
    );
  }
  // validatePolicy accepted it, so it fits the schema.
  return { document: normalizePolicyDocument(document), warnings };
}

export async function savePolicy(options: SavePolicyOptions): Promise<SavePolicyResult> {
  const now = options.now ?? new Date();
  const comment = normaliseComment(options.comment);
  const bodyVersion = (options.document as { version?: unknown } | null)?.version;
  if (bodyVersion !== undefined && options.expectedVersion !== "current" && bodyVersion !== options.expectedVersion) {
    throw validationError("The document's version does not match If-Match", [
      { path: "version", message: `is ${JSON.stringify(bodyVersion)} but If-Match says ${options.expectedVersion}` },
    ]);
  }
  const { document, warnings } = checkPolicyDocument(options.document, now);

  const { policy, changed, pending } = await options.db.$transaction(
    async (tx): Promise<{ policy: VersionedPolicyDocument; changed: boolean; pending?: RolloutView }> => {
      const tenant = await findTenant({ db: tx, slug: options.slug });
      await assertPolicyWritable(tx, tenant, options.actor, { apply: options.apply === true });
      await assertNoOpenRollout(tx, tenant);
      const locked = await tx.$queryRaw<Array<{ version: number }>>`
        select version from policy where tenant_id = ${tenant.id}::uuid for update`;
      const currentVersion = locked[0]?.version;
      if (currentVersion === undefined) throw new AppError("not_found", `Tenant "${options.slug}" has no policy`);
      if (options.expectedVersion !== "current" && options.expectedVersion !== currentVersion) {
        throw await versionConflict(tx, tenant.id, options.expectedVersion, currentVersion);
      }
      const unchanged = await unchangedPolicy(tx, tenant.id, document);
      if (unchanged) {
        // Nothing to write, but someone did apply it (e.g. `ctl policy:apply` of the same document).
        await recordActivity(tx, {
          actor: options.actor,
          action: options.activity?.action ?? "policy.save",
          target: options.slug,
          summary: `Applied a policy identical to version ${currentVersion}: nothing changed, no new version`,
          details: { version: currentVersion, unchanged: true },
        });
        return { policy: { version: currentVersion, ...unchanged }, changed: false };
      }
      const version = await nextVersion(tx, tenant.id, currentVersion);
      if (tenant.requireApproval) {
        // Two-person rule: the change waits as a rollout; the activity names the write path's action.
        const rollout = await openRolloutInTx(tx, {
          tenant,
          document,
          version,
          baseVersion: currentVersion,
          state: "pending_approval",
          requestedState: "promoted",
          actor: options.actor,
          comment,
          now,
          rollbackOf: options.rollbackOf ?? null,
          activity: {
            action: options.activity?.action ?? "policy.save",
            summary: `Requested approval for version ${version} of the policy${comment ? `: ${comment}` : ""}`,
          },
        });
        const current = await readPolicy(tx, tenant.id);
        return { policy: { version: currentVersion, ...current.document }, changed: false, pending: rollout };
      }
      const saved = await writeActiveVersion(tx, tenant.id, document, version, options.actor.label, now);
      await tx.policyRevision.create({
        data: {
          tenantId: tenant.id,
          version,
          document: toJsonValue(saved.document),
          authorId: authorIdOf(options.actor),
          author: options.actor.label,
          comment,
          rollbackOf: options.rollbackOf ?? null,
          createdAt: now,
        },
      });
      await recordActivity(tx, {
        actor: options.actor,
        action: options.activity?.action ?? "policy.save",
        target: options.slug,
        summary:
          options.activity?.summary ??
          `Saved version ${version} of the policy (${saved.document.origins.length} origins, ${saved.document.mode})${comment ? `: ${comment}` : ""}`,
        details: { version, previousVersion: currentVersion },
      });
      return { policy: { version, ...saved.document }, changed: true };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  return pending ? { policy, warnings, changed, pending } : { policy, warnings, changed };
}

/**
 * The next version number: above the active version and above every revision, staged ones
 * included (a rollout takes its number when it opens; an aborted one's is never reused).
 */
export async function nextVersion(tx: Db, tenantId: string, currentVersion: number): Promise<number> {
  const rows = await tx.$queryRaw<Array<{ max: number | null }>>`
    select max(version)::int as max from policy_revision where tenant_id = ${tenantId}::uuid`;
  return Math.max(currentVersion, rows[0]?.max ?? 0) + 1;
}

/**
 * Makes `document` the active policy at `version` (the policy row and its allowlist; the
 * caller writes the revision): savePolicy and a rollout's promotion share it. Inside the
 * caller's transaction, the policy row already locked.
 */
export async function writeActiveVersion(
  tx: Db,
  tenantId: string,
  document: PolicyDocument,
  version: number,
  actorLabel: string,
  now: Date,
): Promise<{ version: number; document: PolicyDocument }> {
  await tx.policy.update({
    where: { tenantId },
    data: { ...policyColumns(document), version, updatedAt: now, updatedBy: actorLabel },
  });
  await applyOrigins(tx, tenantId, document, actorLabel, now);
  return readPolicy(tx, tenantId);
}

/**
 * Replaces the tenant's allowlist with the document's, touching only what differs, in at
 * most three statements whatever the size: one DELETE of the removed ids, one INSERT of the
 * added entries from `unnest` arrays, one UPDATE of the entries whose note or expiry changed
 * (also from `unnest`). Row-by-row writes (or Prisma's createMany, which spent ~300 µs of
 * this process's CPU per row) made a 50,000-entry save take minutes and starved every other
 * request of the dashboard meanwhile; see tests/bench/RESULTS.md, bench:policy-save.
 */
async function applyOrigins(tx: Db, tenantId: string, document: PolicyDocument, actor: string, now: Date) {
  const existing = await tx.$queryRaw<
    Array<{ id: string; pattern: string; note: string | null; expires_at: Date | null }>
  >`
    select id::text as id, pattern, note, expires_at from allowed_origin where tenant_id = ${tenantId}::uuid`;
  const wanted = new Set(document.origins.map((o) => o.pattern));
  const existingByPattern = new Map(existing.map((o) => [o.pattern, o]));
  const removed = existing.filter((o) => !wanted.has(o.pattern)).map((o) => o.id);
  if (removed.length > 0) {
    await tx.$executeRaw`delete from allowed_origin where id = any(${removed}::uuid[])`;
  }
  const added = document.origins.filter((o) => !existingByPattern.has(o.pattern));
  if (added.length > 0) {
    await tx.$executeRaw`
      insert into allowed_origin (id, tenant_id, pattern, note, expires_at, created_at, created_by)
      select gen_random_uuid(), ${tenantId}::uuid, u.pattern, u.note, u.expires_at, ${now}, ${actor}
        from unnest(${added.map((o) => o.pattern)}::text[], ${added.map((o) => o.note)}::text[],
                    ${added.map((o) => o.expiresAt)}::timestamptz[]) as u(pattern, note, expires_at)`;
  }
  const changed = document.origins.flatMap((entry) => {
    const old = existingByPattern.get(entry.pattern);
    if (!old) return [];
    const expiresAt = entry.expiresAt === null ? null : new Date(entry.expiresAt).getTime();
    const same = old.note === entry.note && (old.expires_at?.getTime() ?? null) === expiresAt;
    return same ? [] : [{ id: old.id, note: entry.note, expiresAt: entry.expiresAt }];
  });
  if (changed.length > 0) {
    await tx.$executeRaw`
      update allowed_origin a set note = u.note, expires_at = u.expires_at
        from unnest(${changed.map((c) => c.id)}::uuid[], ${changed.map((c) => c.note)}::text[],
                    ${changed.map((c) => c.expiresAt)}::timestamptz[]) as u(id, note, expires_at)
       where a.id = u.id`;
  }
}

export { authorIdOf };

export async function readPolicy(db: Db, tenantId: string): Promise<{ version: number; document: PolicyDocument }> {
  const policy = await db.policy.findUnique({ where: { tenantId } });
  if (!policy) throw new AppError("not_found", "This tenant has no policy");
  const origins = await db.allowedOrigin.findMany({
    where: { tenantId },
    orderBy: ORIGIN_ORDER,
    select: { pattern: true, note: true, expiresAt: true },
  });
  return { version: policy.version, document: toPolicyDocument(policy, origins) };
}

async function versionConflict(tx: Db, tenantId: string, expected: number, currentVersion: number): Promise<AppError> {
  const current = await readPolicy(tx, tenantId);
  const [base, since] = await Promise.all([
    tx.policyRevision.findUnique({ where: { tenantId_version: { tenantId, version: expected } } }),
    tx.policyRevision.findMany({
      where: { tenantId, version: { gt: expected } },
      orderBy: { version: "asc" },
      take: 50,
      select: { version: true, author: true, comment: true, createdAt: true },
    }),
  ]);
  const details: VersionConflictDetails = {
    expectedVersion: expected,
    currentVersion,
    current: { ...current.document, version: currentVersion },
    changedSince: since.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
    diff: diffDocuments(base ? parsePolicyDocument(base.document) : null, current.document),
  };
  return new AppError(
    "version_conflict",
    `The policy changed meanwhile: you edited version ${expected}, the current version is ${currentVersion}. Review the changes and re-apply yours.`,
    { details },
  );
}

function normaliseComment(comment: string | null | undefined): string | null {
  if (comment === undefined || comment === null) return null;
  const trimmed = comment.trim();
  if (trimmed === "") return null;
  if (trimmed.length > MAX_COMMENT_LENGTH) {
    throw validationError("The comment is too long", [
      { path: "comment", message: `at most ${MAX_COMMENT_LENGTH} characters` },
    ]);
  }
  return trimmed;
}
