import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { etag, requireIfMatch } from "@/app/_lib/api/if-match";
import { policySaveQuery, queryObject } from "@/app/_lib/api/params";
import { getPrisma } from "@/app/_lib/db";
import { getPolicy } from "@/app/_lib/policy/get-policy";
import { MAX_POLICY_BODY_BYTES, savePolicy } from "@/server/domain/policy/save-policy";

type Params = { slug: string };

// GET /api/v1/tenants/<slug>/policy - the whole policy document with its version (ETag: "<version>")
export const GET = apiRoute<Params>({ permission: "policy.read" }, async ({ params }) => {
  const policy = await getPolicy({ db: getPrisma(), slug: params.slug });
  return Response.json(policy, { headers: { ETag: etag(policy.version) } });
});

// PUT /api/v1/tenants/<slug>/policy?comment=... - save a new version; If-Match required (428), stale -> 409, invalid -> 422,
// body over 16 MiB -> 413, managed by code -> 409 managed_by_code (unless a policy-as-code token: this PUT is the one write it may make there); the same document again
// -> 200, `changed: false`; a rollout open -> 409 rollout_in_progress; a tenant that requires approval -> 202 with the rollout
// (pending_approval: nothing saved until a second person approves it)
export const PUT = apiRoute<Params>(
  { permission: "policy.write", activity: "policy.save" },
  async ({ request, params, actor }) => {
    const expectedVersion = requireIfMatch(request);
    const document = await readJson(request, { maxBytes: MAX_POLICY_BODY_BYTES });
    const { comment } = policySaveQuery.parse(queryObject(request));
    const { policy, warnings, changed, pending } = await savePolicy({
      db: getPrisma(),
      slug: params.slug,
      expectedVersion,
      document,
      actor,
      comment,
      // The apply path: a policy-as-code token may write a tenant managed by code here, and only here.
      apply: true,
    });
    if (pending)
      return Response.json({ ...pending, warnings }, { status: 202, headers: { ETag: etag(policy.version) } });
    return Response.json({ ...policy, changed, warnings }, { headers: { ETag: etag(policy.version) } });
  },
);
