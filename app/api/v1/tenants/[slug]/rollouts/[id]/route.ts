import { apiRoute } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { getRollout } from "@/app/_lib/rollouts/list-rollouts";

// GET /api/v1/tenants/<slug>/rollouts/<id> - one rollout with its document, its diff against the version it was opened from,
// its steps and, while it is open, its impact preview against the active version (last 7 days of recorded handshakes)
export const GET = apiRoute<{ slug: string; id: string }>({ permission: "policy.read" }, async ({ params }) => {
  return Response.json(await getRollout({ db: getPrisma(), slug: params.slug, id: params.id }));
});
