/**
 * The stage changes of an open rollout (SPEC §5.2), each in one transaction that locks the
 * policy row, then the rollout, and writes a step (who/when/comment) and an activity entry:
 *
 *   canary   shadow -> canary: the same version (same number, same document) becomes a canary
 *            for the given labels and/or percent of clients, with the guard given (or kept).
 *            On a tenant that requires approval and a rollout no second person approved yet,
 *            it becomes `pending_approval` (requested: canary) instead: leaving shadow for
 *            canary needs a second person, and meanwhile nothing of it is applied.
 *   promote  shadow|canary -> promoted: the staged document becomes the active policy at the
 *            staged version number. On a tenant that requires approval and a rollout no
 *            second person approved yet, it becomes `pending_approval` (requested: promoted)
 *            instead — nothing changes for clients until someone approves.
 *   abort    any open state -> aborted: nothing of it is enforced any more.
 *   approve  pending_approval -> its requested state (canary, or promoted: then promoted as
 *            above). Never by the rollout's author nor by whoever requested the approval
 *            (403 self_approval); needs policy.write (editor or admin).
 *   reject   pending_approval -> rejected.
 * A rollout that is not open (or not pending, for approve/reject) answers 409
 * rollout_not_open with its state. policy_rollout's trigger NOTIFYs the gateways.
 */
import "server-only";
import type { PrismaClient, Tx } from "@/server/db/prisma";
import { type Actor, recordActivity } from "@/server/domain/activity/record-activity";
import { AppError, notFound, validationError } from "@/server/domain/errors";
import { assertPolicyWritable } from "@/server/domain/policy/assert-policy-writable";
import { authorIdOf, MAX_COMMENT_LENGTH, writeActiveVersion } from "@/server/domain/policy/save-policy";
import {
  describeCanary,
  OPEN_STATES,
  type RolloutState,
  type RolloutView,
  toRolloutView,
} from "@/server/domain/rollouts/rollout-view";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { parsePolicyDocument } from "@/server/policy/document";

export type RolloutAction = "canary" | "promote" | "abort" | "approve" | "reject";

export interface ChangeRolloutOptions {
  db: PrismaClient;
  slug: string;
  id: string;
  action: RolloutAction;
  actor: Actor;
  comment?: string | null;
  /** canary: where it is enforced (labels and/or percent of client addresses). */
  canary?: { labels: string[]; percent: number | null };
  /** canary: the guard to set (null: none); undefined keeps the rollout's guard. */
  guard?: { maxNewRefusalsPerMinute: number } | null;
  now?: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rollout after the change; `pending: true` when a promote or a move to canary has to wait for approval. */
export async function changeRollout(
  options: ChangeRolloutOptions,
): Promise<{ rollout: RolloutView; pending: boolean }> {
  const now = options.now ?? new Date();
  const comment = options.comment?.trim() ? options.comment.trim().slice(0, MAX_COMMENT_LENGTH) : null;
  if (!UUID.test(options.id)) throw notFound(`Rollout "${options.id.slice(0, 40)}"`);
  const target = options.canary;
  if (options.action === "canary" && !(target && (target.labels.length > 0 || target.percent !== null))) {
    throw validationError("A canary needs labels or a percent", [
      { path: "canary", message: "a canary needs labels or a percent" },
    ]);
  }
  return options.db.$transaction(
    async (tx) => {
      const tenant = await findTenant({ db: tx, slug: options.slug });
      if (options.action !== "abort" && options.action !== "reject") {
        await assertPolicyWritable(tx, tenant, options.actor, { approval: options.action === "approve" });
      }
      await tx.$queryRaw`select version from policy where tenant_id = ${tenant.id}::uuid for update`;
      const locked = await tx.$queryRaw<Array<{ id: string }>>`
        select id::text as id from policy_rollout where id = ${options.id}::uuid and tenant_id = ${tenant.id}::uuid for update`;
      if (locked.length === 0) throw notFound(`Rollout ${options.id} of "${options.slug}"`);
      const rollout = await tx.policyRollout.findUniqueOrThrow({ where: { id: options.id } });
      const from = rollout.state;
      const open = (OPEN_STATES as readonly string[]).includes(from);
      const step = (action: string, to: RolloutState, data: Record<string, unknown> = {}) =>
        move(tx, { rolloutId: rollout.id, action, from, to, actor: options.actor, comment, now, data });
      const activity = (summary: string) =>
        recordActivity(tx, {
          actor: options.actor,
          action: `rollout.${options.action}`,
          target: options.slug,
          summary: `${summary}${comment ? `: ${comment}` : ""}`,
          details: { rolloutId: rollout.id, version: rollout.version, from },
        });
      const notOpen = (what: string) =>
        new AppError(
          "rollout_not_open",
          `Version ${rollout.version} is ${from.replace("_", " ")}: it cannot be ${what}`,
          {
            details: { rolloutId: rollout.id, stage: from },
          },
        );

      const promote = async (how: string) => {
        const document = parsePolicyDocument(rollout.document);
        await writeActiveVersion(tx, tenant.id, document, rollout.version, options.actor.label, now);
        await step(how, "promoted", { closedAt: now, closedBy: options.actor.label });
      };

      switch (options.action) {
        case "canary": {
          if (from !== "shadow") {
            throw notOpen(
              from === "canary"
                ? "moved to canary (it is one already)"
                : from === "pending_approval"
                  ? "moved to canary before it is approved"
                  : "moved to canary",
            );
          }
          const canary = target as { labels: string[]; percent: number | null };
          const data = {
            canaryLabels: canary.labels,
            canaryPercent: canary.percent,
            ...(options.guard !== undefined
              ? { guardMaxNewRefusalsPerMinute: options.guard?.maxNewRefusalsPerMinute ?? null }
              : {}),
          };
          const how = describeCanary(canary);
          if (tenant.requireApproval && rollout.approvedAt === null) {
            await step("requested", "pending_approval", { ...data, requestedState: "canary" });
            await activity(`Requested approval to move version ${rollout.version} from shadow to canary (${how})`);
            const after = await reload(tx, rollout.id);
            return { rollout: toRolloutView(options.slug, after.row, after.steps), pending: true };
          }
          await step("canary", "canary", data);
          await activity(`Moved version ${rollout.version} from shadow to canary (${how})`);
          break;
        }
        case "abort": {
          if (!open) throw notOpen("aborted");
          await step("aborted", "aborted", { closedAt: now, closedBy: options.actor.label });
          await activity(`Aborted rollout of version ${rollout.version} (${from.replace("_", " ")})`);
          break;
        }
        case "reject": {
          if (from !== "pending_approval") throw notOpen("rejected (it is not waiting for approval)");
          await step("rejected", "rejected", { closedAt: now, closedBy: options.actor.label });
          await activity(`Rejected version ${rollout.version}`);
          break;
        }
        case "approve": {
          if (from !== "pending_approval") throw notOpen("approved (it is not waiting for approval)");
          await assertNotSelfApproval(tx, rollout, options.actor);
          const approval = {
            approvedBy: options.actor.label,
            approvedById: authorIdOf(options.actor),
            approvedAt: now,
          };
          if (rollout.requestedState === "canary") {
            await step("approved", "canary", { ...approval, requestedState: null });
            await activity(`Approved version ${rollout.version} for canary`);
          } else {
            await tx.policyRollout.update({ where: { id: rollout.id }, data: approval });
            await promote("approved");
            await activity(`Approved and promoted version ${rollout.version} to active`);
          }
          break;
        }
        case "promote": {
          if (from !== "shadow" && from !== "canary") {
            throw notOpen(from === "pending_approval" ? "promoted before it is approved" : "promoted");
          }
          if (tenant.requireApproval && rollout.approvedAt === null) {
            await step("requested", "pending_approval", { requestedState: "promoted" });
            await activity(`Requested approval to promote version ${rollout.version} (${from})`);
            const after = await reload(tx, rollout.id);
            return { rollout: toRolloutView(options.slug, after.row, after.steps), pending: true };
          }
          await promote("promoted");
          await activity(`Promoted version ${rollout.version} from ${from} to active`);
          break;
        }
      }
      const after = await reload(tx, rollout.id);
      return { rollout: toRolloutView(options.slug, after.row, after.steps), pending: false };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
}

async function move(
  tx: Tx,
  s: {
    rolloutId: string;
    action: string;
    from: RolloutState;
    to: RolloutState;
    actor: Actor;
    comment: string | null;
    now: Date;
    data: Record<string, unknown>;
  },
): Promise<void> {
  await tx.policyRollout.update({ where: { id: s.rolloutId }, data: { ...s.data, state: s.to, updatedAt: s.now } });
  await tx.policyRolloutStep.create({
    data: {
      rolloutId: s.rolloutId,
      action: s.action,
      fromState: s.from,
      toState: s.to,
      actorId: authorIdOf(s.actor),
      actor: s.actor.label,
      comment: s.comment,
      createdAt: s.now,
    },
  });
}

/**
 * Never the author, nor whoever asked for this approval: compared by user id when both are
 * users, and by label (an API token's `token:<name>`, an e-mail) in every case.
 */
async function assertNotSelfApproval(
  tx: Tx,
  rollout: { id: string; authorId: string | null; author: string },
  actor: Actor,
): Promise<void> {
  const requests = await tx.policyRolloutStep.findMany({
    where: { rolloutId: rollout.id, toState: "pending_approval" },
    select: { actor: true, actorId: true },
  });
  const people = [{ actorId: rollout.authorId, actor: rollout.author }, ...requests];
  const actorId = authorIdOf(actor);
  const self = people.some((p) => p.actor === actor.label || (actorId !== null && p.actorId === actorId));
  if (self) {
    throw new AppError(
      "self_approval",
      "A change needs a second person: its author (or whoever requested the approval) cannot approve it",
      { details: { rolloutId: rollout.id, author: rollout.author } },
    );
  }
}

async function reload(tx: Tx, id: string) {
  const row = await tx.policyRollout.findUniqueOrThrow({ where: { id } });
  const steps = await tx.policyRolloutStep.findMany({ where: { rolloutId: id }, orderBy: { id: "asc" } });
  return { row, steps };
}
