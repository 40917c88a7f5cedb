import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { impactInput } from "@/app/_lib/policy/impact-input";
import { previewImpact } from "@/app/_lib/policy/preview-impact";
import { MAX_POLICY_BODY_BYTES } from "@/server/domain/policy/save-policy";

type Params = { slug: string };

// POST /api/v1/tenants/<slug>/policy/impact - replay the window's recorded handshakes against a draft and the active
// version: what the draft would newly refuse and newly admit, by origin (writes nothing; invalid draft -> 422)
export const POST = apiRoute<Params>({ permission: "policy.read", activity: false }, async ({ request, params }) => {
  const body = impactInput.parse(await readJson(request, { maxBytes: MAX_POLICY_BODY_BYTES }));
  const preview = await previewImpact({
    db: getPrisma(),
    slug: params.slug,
    document: body.document,
    since: body.since,
  });
  return Response.json(preview);
});
