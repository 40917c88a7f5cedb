// DELETE /api/v1/tokens/<id> - revoke an API token (refused from the next request on)
import { apiRoute } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { revokeApiToken } from "@/server/domain/tokens/revoke-api-token";

export const DELETE = apiRoute<{ id: string }>(
  { permission: "tokens.manage", activity: "token.revoke" },
  async ({ params, actor }) => {
    await revokeApiToken({ db: getPrisma(), id: params.id, actor });
    return new Response(null, { status: 204 });
  },
);
