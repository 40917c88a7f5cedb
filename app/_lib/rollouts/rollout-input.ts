import "server-only";
/**
 * Request bodies of the rollout endpoints (SPEC §10), validated at the boundary.
 * `POST .../rollouts`: `{ version? | document?, stage, canary?: { labels?, percent? },
 * guard?: { maxNewRefusalsPerMinute }, comment? }`; the stage-change endpoints take
 * `{ comment? }`.
 */
import { z } from "zod";
import { GATEWAY_LABEL } from "@/server/config";

const comment = z.string().max(500).nullish();

export const createRolloutInput = z
  .object({
    version: z.number().int().min(1).optional(),
    document: z.unknown().optional(),
    stage: z.enum(["shadow", "canary"]),
    canary: z
      .object({
        labels: z
          .array(z.string().regex(GATEWAY_LABEL, "a label is 1-64 letters, digits, '.', '_', '-' or ':'"))
          .max(16)
          .optional(),
        percent: z.number().int().min(1).max(99).optional(),
      })
      .strict()
      .optional(),
    guard: z
      .object({ maxNewRefusalsPerMinute: z.number().int().min(0).max(1_000_000) })
      .strict()
      .optional(),
    comment,
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.version === undefined) === (v.document === undefined)) {
      ctx.addIssue({ code: "custom", path: ["document"], message: "give either version or document (one of them)" });
    }
    const hasCanary = (v.canary?.labels?.length ?? 0) > 0 || v.canary?.percent !== undefined;
    if (v.stage === "canary" && !hasCanary) {
      ctx.addIssue({ code: "custom", path: ["canary"], message: "a canary needs labels or a percent" });
    }
    if (v.stage === "shadow" && v.canary !== undefined) {
      ctx.addIssue({ code: "custom", path: ["canary"], message: "only for stage canary" });
    }
  });
export type CreateRolloutInput = z.infer<typeof createRolloutInput>;

export const rolloutStepInput = z.object({ comment }).strict();
