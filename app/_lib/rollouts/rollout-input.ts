import "server-only";
/**
 * Request bodies of the rollout endpoints (SPEC §10), validated at the boundary.
 * `POST .../rollouts`: `{ version? | document?, stage, canary?: { labels?, percent? },
 * guard?: { maxNewRefusalsPerMinute }, comment? }`; `POST .../rollouts/<id>/canary` (a shadow
 * becomes a canary of the same version): `{ canary: { labels?, percent? }, guard?, comment? }`
 * (`guard: null` removes the guard, leaving it out keeps it); the other stage-change
 * endpoints take `{ comment? }`.
 */
import { z } from "zod";
import { GATEWAY_LABEL } from "@/server/config";

const comment = z.string().max(500).nullish();

/** Where a canary is enforced: gateways carrying one of `labels` (GATEWAY_LABELS), and/or `percent` of client addresses. */
const canaryTarget = z
  .object({
    labels: z
      .array(z.string().regex(GATEWAY_LABEL, "a label is 1-64 letters, digits, '.', '_', '-' or ':'"))
      .max(16)
      .optional(),
    percent: z.number().int().min(1).max(99).optional(),
  })
  .strict();

const guard = z.object({ maxNewRefusalsPerMinute: z.number().int().min(0).max(1_000_000) }).strict();

export const createRolloutInput = z
  .object({
    version: z.number().int().min(1).optional(),
    document: z.unknown().optional(),
    stage: z.enum(["shadow", "canary"]),
    canary: canaryTarget.optional(),
    guard: guard.optional(),
    comment,
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.version === undefined) === (v.document === undefined)) {
      ctx.addIssue({ code: "custom", path: ["document"], message: "give either version or document (one of them)" });
    }
    if (v.stage === "canary" && !((v.canary?.labels?.length ?? 0) > 0 || v.canary?.percent !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["canary"], message: "a canary needs labels or a percent" });
    }
    if (v.stage === "shadow" && v.canary !== undefined) {
      ctx.addIssue({ code: "custom", path: ["canary"], message: "only for stage canary" });
    }
  });
export type CreateRolloutInput = z.infer<typeof createRolloutInput>;

export const rolloutStepInput = z.object({ comment }).strict();

/**
 * `POST .../rollouts/<id>/canary`: the open shadow of a version becomes a canary of that same
 * version. That the canary names labels or a percent is changeRollout's own check (422), for
 * every caller.
 */
export const canaryRolloutInput = z
  .object({
    canary: canaryTarget,
    guard: guard.nullable().optional(),
    comment,
  })
  .strict();
export type CanaryRolloutInput = z.infer<typeof canaryRolloutInput>;
