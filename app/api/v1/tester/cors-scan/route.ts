// POST /api/v1/tester/cors-scan - the CORS scan of a target: reflected origins, null/* with credentials, missing Vary, lookalikes
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { runTester } from "@/app/_lib/tester/run-tester";

export const POST = apiRoute(
  { permission: "tester.run", activity: false, tenantScope: "filtered" },
  async ({ request, principal }) => {
    const { status, body } = await runTester({ run: "cors-scan", input: await readJson(request), principal });
    return Response.json(body, { status });
  },
);
