/**
 * openRolloutInTx: writes a new rollout inside the caller's transaction (policy row already
 * locked, no rollout open, document validated): the rollout row, the revision of its version
 * marked with its stage, its first step and the activity entry. policy_rollout's trigger
 * touches the policy, so gateways pick a shadow or canary stage up at commit.
 */
import "server-only";
import type { Db } from "../../db/prisma";
import type { PolicyDocument } from "../../policy/document";
import { type Actor, recordActivity } from "../activity/record-activity";
import { AppError } from "../errors";
import { authorIdOf } from "../policy/author-id";
import { toJsonValue } from "../policy/document";
import { type RolloutView, toRolloutView } from "./rollout-view";

export interface OpenRolloutInput {
  tenant: { id: string; slug: string };
  document: PolicyDocument;
  version: number;
  baseVersion: number;
  state: "pending_approval" | "shadow" | "canary";
  requestedState?: "canary" | "promoted" | null;
  canary?: { labels: string[]; percent: number | null } | null;
  guard?: { maxNewRefusalsPerMinute: number } | null;
  actor: Actor;
  comment: string | null;
  now: Date;
  rollbackOf?: number | null;
  activity: { action: string; summary: string };
}

export async function openRolloutInTx(tx: Db, input: OpenRolloutInput): Promise<RolloutView> {
  const authorId = authorIdOf(input.actor);
  let row: Awaited<ReturnType<typeof tx.policyRollout.create>>;
  try {
    row = await tx.policyRollout.create({
      data: {
        tenantId: input.tenant.id,
        version: input.version,
        baseVersion: input.baseVersion,
        document: toJsonValue(input.document),
        state: input.state,
        requestedState: input.requestedState ?? null,
        canaryLabels: input.canary?.labels ?? [],
        canaryPercent: input.canary?.percent ?? null,
        guardMaxNewRefusalsPerMinute: input.guard?.maxNewRefusalsPerMinute ?? null,
        authorId,
        author: input.actor.label,
        comment: input.comment,
        createdAt: input.now,
        updatedAt: input.now,
      },
    });
  } catch (error) {
    if ((error as { code?: string }).code === "P2002") {
      throw new AppError("rollout_in_progress", `A rollout of "${input.tenant.slug}" is already open`, {
        cause: error,
      });
    }
    throw error;
  }
  await tx.policyRevision.create({
    data: {
      tenantId: input.tenant.id,
      version: input.version,
      document: toJsonValue(input.document),
      authorId,
      author: input.actor.label,
      comment: input.comment,
      rollbackOf: input.rollbackOf ?? null,
      stage: input.state,
      createdAt: input.now,
    },
  });
  const step = await tx.policyRolloutStep.create({
    data: {
      rolloutId: row.id,
      action: input.state === "pending_approval" ? "requested" : input.state,
      fromState: null,
      toState: input.state,
      actorId: authorId,
      actor: input.actor.label,
      comment: input.comment,
      createdAt: input.now,
    },
  });
  await recordActivity(tx, {
    actor: input.actor,
    action: input.activity.action,
    target: input.tenant.slug,
    summary: input.activity.summary,
    details: { rolloutId: row.id, version: input.version, stage: input.state },
  });
  return toRolloutView(input.tenant.slug, row, [step]);
}
