// DELETE /api/v1/tenants/<slug>/endpoints/<id> - remove a tester endpoint (admin); the tester refuses it from then on
import { apiRoute } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { removeEndpoint } from "@/app/_lib/tester/remove-endpoint";

export const DELETE = apiRoute<{ slug: string; id: string }>(
  { permission: "tester.endpoints.write", activity: "tester_endpoint.remove" },
  async ({ params, actor }) => {
    await removeEndpoint({ db: getPrisma(), slug: params.slug, id: params.id, actor });
    return new Response(null, { status: 204 });
  },
);
