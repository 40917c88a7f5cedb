import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { deleteTenant } from "@/app/_lib/tenants/delete-tenant";
import { getTenant } from "@/app/_lib/tenants/get-tenant";
import { updateTenant } from "@/app/_lib/tenants/update-tenant";
import { updateTenantInput } from "@/server/domain/tenants/tenant-input";

type Params = { slug: string };

// GET /api/v1/tenants/<slug> - one tenant (settings, policy summary, gateway sync; never its secret)
export const GET = apiRoute<Params>({ permission: "tenants.read" }, async ({ params }) =>
  Response.json(await getTenant({ db: getPrisma(), slug: params.slug })),
);

// PATCH /api/v1/tenants/<slug> - { name?, upstreamUrl?, managedBy? }: rename, set the upstream URL, mark as managed by
// code (managedBy: where, e.g. a repository URL) or remove the mark (null); the slug is immutable
export const PATCH = apiRoute<Params>(
  { permission: "tenants.write", activity: "tenant.update" },
  async ({ request, params, actor }) => {
    const input = updateTenantInput.parse(await readJson(request));
    const db = getPrisma();
    await updateTenant({ db, slug: params.slug, input, actor });
    return Response.json(await getTenant({ db, slug: params.slug }));
  },
);

// DELETE /api/v1/tenants/<slug> - delete the tenant, its policy, allowlist and revisions
export const DELETE = apiRoute<Params>(
  { permission: "tenants.write", activity: "tenant.delete" },
  async ({ params, actor }) => {
    await deleteTenant({ db: getPrisma(), slug: params.slug, actor });
    return new Response(null, { status: 204 });
  },
);
