// POST /api/v1/tester/handshake - a real handshake from the gateway with any Origin and credentials (SPEC §8, §10)
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { runTester } from "@/app/_lib/tester/run-tester";

export const POST = apiRoute(
  { permission: "tester.run", activity: false, tenantScope: "filtered" },
  async ({ request, principal }) => {
    const { status, body } = await runTester({ run: "handshake", input: await readJson(request), principal });
    return Response.json(body, { status });
  },
);
