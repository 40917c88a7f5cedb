// POST /api/v1/tester/cors - a real HTTP request (or its CORS preflight) from the gateway with any Origin (SPEC §8 for HTTP, §4.6)
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { runTester } from "@/app/_lib/tester/run-tester";

export const POST = apiRoute(
  { permission: "tester.run", activity: false, tenantScope: "filtered" },
  async ({ request, principal }) => {
    const { status, body } = await runTester({ run: "cors", input: await readJson(request), principal });
    return Response.json(body, { status });
  },
);
