import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { endpointInput } from "@/app/_lib/tester/endpoint-input";
import { listEndpoints } from "@/app/_lib/tester/list-endpoints";
import { registerEndpoint } from "@/app/_lib/tester/register-endpoint";

type Params = { slug: string };

// GET /api/v1/tenants/<slug>/endpoints - the tester endpoints registered for the tenant
export const GET = apiRoute<Params>({ permission: "tenants.read" }, async ({ params }) =>
  Response.json(await listEndpoints({ db: getPrisma(), slug: params.slug })),
);

// POST /api/v1/tenants/<slug>/endpoints - register { url (ws(s):// or http(s)://), label? } as a tester target (admin)
export const POST = apiRoute<Params>(
  { permission: "tester.endpoints.write", activity: "tester_endpoint.register" },
  async ({ request, params, actor }) => {
    const input = endpointInput.parse(await readJson(request));
    const endpoint = await registerEndpoint({
      db: getPrisma(),
      slug: params.slug,
      input,
      actor,
    });
    return Response.json(endpoint, { status: 201 });
  },
);
