// POST /api/v1/tester/scan - every bypass variant of a tenant's allowlist against a target, as a matrix (SPEC §8, §10)
import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { runTester } from "@/app/_lib/tester/run-tester";

export const POST = apiRoute(
  { permission: "tester.run", activity: false, tenantScope: "filtered" },
  async ({ request, principal }) => {
    const { status, body } = await runTester({ run: "scan", input: await readJson(request), principal });
    return Response.json(body, { status });
  },
);
