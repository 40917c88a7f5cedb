// POST /api/v1/tenants/<slug>/rotate-secret - new token secret { overlapSeconds? }, returned this once only
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { rotateTenantSecret } from "@/app/_lib/tenants/rotate-tenant-secret";
import { rotateSecretInput } from "@/server/domain/tenants/tenant-input";

export const POST = apiRoute<{ slug: string }>(
  { permission: "tenants.rotate_secret", activity: "tenant.rotate_secret" },
  async ({ request, params, actor }) => {
    const input = rotateSecretInput.parse(await readJson(request));
    return Response.json(await rotateTenantSecret({ db: getPrisma(), slug: params.slug, input, actor }));
  },
);
