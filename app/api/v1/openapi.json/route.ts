// GET /api/v1/openapi.json - the OpenAPI 3.1 description of /api/v1, generated from the schemas the routes validate with
import { apiRoute } from "@/app/_lib/api/api-route";
import { openApiDocument } from "@/app/_lib/api/openapi/build-openapi";
import { config } from "@/server/config";

export const GET = apiRoute({ permission: "authenticated" }, async () =>
  Response.json(openApiDocument(config().dashboardUrl)),
);
