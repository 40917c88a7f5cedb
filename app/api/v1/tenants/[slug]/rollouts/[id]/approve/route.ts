import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { changeRollout } from "@/app/_lib/rollouts/change-rollout";
import { rolloutStepInput } from "@/app/_lib/rollouts/rollout-input";

// POST /api/v1/tenants/<slug>/rollouts/<id>/approve - second person approves a pending change ({ comment? }): it goes on to canary or active; its author -> 403 self_approval;
// not pending -> 409 rollout_not_open
export const POST = apiRoute<{ slug: string; id: string }>(
  { permission: "policy.write", activity: "rollout.approve" },
  async ({ request, params, actor }) => {
    const { comment } = rolloutStepInput.parse(await readJson(request));
    const { rollout } = await changeRollout({
      db: getPrisma(),
      slug: params.slug,
      id: params.id,
      action: "approve",
      actor,
      comment,
    });
    return Response.json(rollout);
  },
);
