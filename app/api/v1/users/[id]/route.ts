import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { deleteUser } from "@/app/_lib/users/delete-user";
import { updateUserRole } from "@/app/_lib/users/update-user-role";
import { updateUserInput } from "@/app/_lib/users/user-input";

type Params = { id: string };

// PATCH /api/v1/users/<id> - change the role { role } (never the last admin's)
export const PATCH = apiRoute<Params>({ permission: "users.manage" }, async ({ request, params }) => {
  const input = updateUserInput.parse(await readJson(request));
  await updateUserRole({ db: getPrisma(), id: params.id, input });
  return new Response(null, { status: 204 });
});

// DELETE /api/v1/users/<id> - remove a user and their sessions (not yourself, not the last admin)
export const DELETE = apiRoute<Params>({ permission: "users.manage" }, async ({ params, principal }) => {
  await deleteUser({ db: getPrisma(), id: params.id, actorId: principal.kind === "user" ? principal.id : null });
  return new Response(null, { status: 204 });
});
