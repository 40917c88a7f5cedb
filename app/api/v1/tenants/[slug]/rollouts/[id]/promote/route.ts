import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { changeRollout } from "@/app/_lib/rollouts/change-rollout";
import { rolloutStepInput } from "@/app/_lib/rollouts/rollout-input";

// POST /api/v1/tenants/<slug>/rollouts/<id>/promote - make the staged version active ({ comment? }) -> 200; on a tenant that
// requires approval and a rollout nobody approved yet -> 202, now pending_approval; not shadow/canary -> 409 rollout_not_open
export const POST = apiRoute<{ slug: string; id: string }>(
  { permission: "policy.write", activity: "rollout.promote" },
  async ({ request, params, actor }) => {
    const { comment } = rolloutStepInput.parse(await readJson(request));
    const { rollout, pending } = await changeRollout({
      db: getPrisma(),
      slug: params.slug,
      id: params.id,
      action: "promote",
      actor,
      comment,
    });
    return Response.json(rollout, { status: pending ? 202 : 200 });
  },
);
