import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { changeRollout } from "@/app/_lib/rollouts/change-rollout";
import { canaryRolloutInput } from "@/app/_lib/rollouts/rollout-input";

// POST /api/v1/tenants/<slug>/rollouts/<id>/canary - the open shadow becomes a canary of the same version
// ({ canary: { labels?, percent? }, guard?, comment? }) -> 200; on a tenant that requires approval and a rollout nobody
// approved yet -> 202, now pending_approval (requested: canary); not a shadow -> 409 rollout_not_open; invalid -> 422
export const POST = apiRoute<{ slug: string; id: string }>(
  { permission: "policy.write", activity: "rollout.canary" },
  async ({ request, params, actor }) => {
    const input = canaryRolloutInput.parse(await readJson(request));
    const { rollout, pending } = await changeRollout({
      db: getPrisma(),
      slug: params.slug,
      id: params.id,
      action: "canary",
      actor,
      comment: input.comment,
      canary: { labels: input.canary.labels ?? [], percent: input.canary.percent ?? null },
      guard: input.guard,
    });
    return Response.json(rollout, { status: pending ? 202 : 200 });
  },
);
