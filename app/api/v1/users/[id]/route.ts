import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { deleteUser } from "@/app/_lib/users/delete-user";
import { updateUserRole } from "@/app/_lib/users/update-user-role";
import { updateUserInput } from "@/server/domain/users/user-input";

type Params = { id: string };

// PATCH /api/v1/users/<id> - change the role { role } (never the last admin's)
export const PATCH = apiRoute<Params>(
  { permission: "users.manage", activity: "user.role_change" },
  async ({ request, params, actor }) => {
    const input = updateUserInput.parse(await readJson(request));
    await updateUserRole({ db: getPrisma(), id: params.id, input, actor });
    return new Response(null, { status: 204 });
  },
);

// DELETE /api/v1/users/<id> - remove a user, their sessions and API tokens (not yourself, not the last admin)
export const DELETE = apiRoute<Params>(
  { permission: "users.manage", activity: "user.delete" },
  async ({ params, principal, actor }) => {
    await deleteUser({
      db: getPrisma(),
      id: params.id,
      actorId: principal.kind === "user" ? principal.id : null,
      actor,
    });
    return new Response(null, { status: 204 });
  },
);
