import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { getTenant } from "@/app/_lib/tenants/get-tenant";
import { listTenants } from "@/app/_lib/tenants/list-tenants";
import { createTenant } from "@/server/domain/tenants/create-tenant";
import { createTenantInput } from "@/server/domain/tenants/tenant-input";

// GET /api/v1/tenants - every tenant with origin count, mode, version, gateway sync
export const GET = apiRoute({ permission: "tenants.read", tenantScope: "filtered" }, async ({ principal }) =>
  Response.json(await listTenants({ db: getPrisma(), tenant: principal.tenant })),
);

// POST /api/v1/tenants - create a tenant { slug, name, upstreamUrl? } with its default policy (version 1)
export const POST = apiRoute({ permission: "tenants.write", activity: "tenant.create" }, async ({ request, actor }) => {
  const input = createTenantInput.parse(await readJson(request));
  const db = getPrisma();
  const { slug } = await createTenant({ db, input, actor });
  return Response.json(await getTenant({ db, slug }), {
    status: 201,
    headers: { Location: `/api/v1/tenants/${slug}` },
  });
});
