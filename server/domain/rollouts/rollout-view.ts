/**
 * A rollout as the API returns it (SPEC §10 `rollouts`): `stage` (alias `state`) is where it
 * stands; `steps` are its stage changes with who/when/comment, oldest first.
 */
import "server-only";
import type { PrismaTypes } from "../../db/prisma";

export const OPEN_STATES = ["pending_approval", "shadow", "canary"] as const;
export type RolloutState = PrismaTypes.RolloutState;

export interface RolloutStepView {
  action: string;
  from: RolloutState | null;
  to: RolloutState;
  actor: string;
  comment: string | null;
  at: string;
}

export interface RolloutView {
  id: string;
  tenant: string;
  version: number;
  baseVersion: number;
  stage: RolloutState;
  state: RolloutState;
  /** pending_approval: where an approval takes it (`canary` or `promoted`). */
  requestedStage: RolloutState | null;
  canary: { labels: string[]; percent: number | null } | null;
  guard: { maxNewRefusalsPerMinute: number } | null;
  author: string;
  comment: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
  closedBy: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
  open: boolean;
  steps?: RolloutStepView[];
}

/** "gateways labelled canary and 5% of clients": where a canary is enforced, in words. */
export function describeCanary(canary: { labels: readonly string[]; percent: number | null }): string {
  return [
    canary.labels.length ? `gateways labelled ${canary.labels.join(", ")}` : "",
    canary.percent ? `${canary.percent}% of clients` : "",
  ]
    .filter(Boolean)
    .join(" and ");
}

type RolloutRow = PrismaTypes.PolicyRollout;
type StepRow = PrismaTypes.PolicyRolloutStep;

export function toRolloutView(tenant: string, row: RolloutRow, steps?: StepRow[]): RolloutView {
  const canaryLike = row.state === "canary" || row.requestedState === "canary" || row.canaryLabels.length > 0;
  return {
    id: row.id,
    tenant,
    version: row.version,
    baseVersion: row.baseVersion,
    stage: row.state,
    state: row.state,
    requestedStage: row.requestedState,
    canary:
      canaryLike && (row.canaryLabels.length > 0 || row.canaryPercent !== null)
        ? { labels: row.canaryLabels, percent: row.canaryPercent }
        : null,
    guard:
      row.guardMaxNewRefusalsPerMinute === null ? null : { maxNewRefusalsPerMinute: row.guardMaxNewRefusalsPerMinute },
    author: row.author,
    comment: row.comment,
    approvedBy: row.approvedBy,
    approvedAt: row.approvedAt?.toISOString() ?? null,
    closedBy: row.closedBy,
    closedAt: row.closedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    open: (OPEN_STATES as readonly string[]).includes(row.state),
    ...(steps
      ? {
          steps: steps.map((s) => ({
            action: s.action,
            from: s.fromState,
            to: s.toState,
            actor: s.actor,
            comment: s.comment,
            at: s.createdAt.toISOString(),
          })),
        }
      : {}),
  };
}
