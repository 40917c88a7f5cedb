import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { changeRollout } from "@/app/_lib/rollouts/change-rollout";
import { rolloutStepInput } from "@/app/_lib/rollouts/rollout-input";

// POST /api/v1/tenants/<slug>/rollouts/<id>/abort - end the rollout: nothing of the staged version stays enforced ({ comment? }); not open -> 409 rollout_not_open
export const POST = apiRoute<{ slug: string; id: string }>(
  { permission: "policy.write", activity: "rollout.abort" },
  async ({ request, params, actor }) => {
    const { comment } = rolloutStepInput.parse(await readJson(request));
    const { rollout } = await changeRollout({
      db: getPrisma(),
      slug: params.slug,
      id: params.id,
      action: "abort",
      actor,
      comment,
    });
    return Response.json(rollout);
  },
);
