// POST /api/v1/tenants/<slug>/rotate-secret - new token secret, returned this once only
import { apiRoute } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { rotateTenantSecret } from "@/app/_lib/tenants/rotate-tenant-secret";

export const POST = apiRoute<{ slug: string }>({ permission: "tenants.rotate_secret" }, async ({ params }) =>
  Response.json(await rotateTenantSecret({ db: getPrisma(), slug: params.slug })),
);
