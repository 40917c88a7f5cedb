import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { createApiToken, createApiTokenInput } from "@/server/domain/tokens/create-api-token";
import { listApiTokens } from "@/server/domain/tokens/list-api-tokens";

// GET /api/v1/tokens - API tokens (name, role, prefix, created, last used, revoked; never the token)
export const GET = apiRoute({ permission: "tokens.manage" }, async () =>
  Response.json(await listApiTokens({ db: getPrisma() })),
);

// POST /api/v1/tokens - create { name, role, expiresInDays?, tenant?, policyAsCode? }; the response holds the token, shown this once only
export const POST = apiRoute(
  { permission: "tokens.manage", activity: "token.create" },
  async ({ request, principal, actor }) => {
    const input = createApiTokenInput.parse(await readJson(request));
    const created = await createApiToken({
      db: getPrisma(),
      input,
      createdById: principal.kind === "user" ? principal.id : null,
      actor,
    });
    return Response.json({ token: created.token, ...created.apiToken }, { status: 201 });
  },
);
