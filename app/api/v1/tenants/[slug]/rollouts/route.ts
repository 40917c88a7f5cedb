import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { createRollout } from "@/app/_lib/rollouts/create-rollout";
import { listRollouts } from "@/app/_lib/rollouts/list-rollouts";
import { createRolloutInput } from "@/app/_lib/rollouts/rollout-input";
import { MAX_POLICY_BODY_BYTES } from "@/server/domain/policy/save-policy";

type Params = { slug: string };

// GET /api/v1/tenants/<slug>/rollouts - the tenant's rollouts, newest first, with their steps, and whether it requires approval
export const GET = apiRoute<Params>({ permission: "policy.read" }, async ({ params }) => {
  return Response.json(await listRollouts({ db: getPrisma(), slug: params.slug }));
});

// POST /api/v1/tenants/<slug>/rollouts - publish { version? | document?, stage: shadow|canary, canary?, guard?, comment? } as a
// staged version -> 201 { id, version, stage, ... }; 202 when the tenant requires approval (canary waits in pending_approval);
// another rollout open (or a PUT meanwhile) -> 409 rollout_in_progress; invalid -> 422
export const POST = apiRoute<Params>(
  { permission: "policy.write", activity: "rollout.create" },
  async ({ request, params, actor }) => {
    const input = createRolloutInput.parse(await readJson(request, { maxBytes: MAX_POLICY_BODY_BYTES }));
    const { rollout, warnings } = await createRollout({ db: getPrisma(), slug: params.slug, input, actor });
    return Response.json({ ...rollout, warnings }, { status: rollout.stage === "pending_approval" ? 202 : 201 });
  },
);
