import { apiRoute, readJson } from "@/app/_lib/api/api-route";
import { getPrisma } from "@/app/_lib/db";
import { createUser } from "@/server/domain/users/create-user";
import { listUsers } from "@/server/domain/users/list-users";
import { createUserInput } from "@/server/domain/users/user-input";

// GET /api/v1/users - every user with their role
export const GET = apiRoute({ permission: "users.manage" }, async () =>
  Response.json(await listUsers({ db: getPrisma() })),
);

// POST /api/v1/users - create { email, name?, password, role }
export const POST = apiRoute({ permission: "users.manage", activity: "user.create" }, async ({ request, actor }) => {
  const input = createUserInput.parse(await readJson(request));
  return Response.json(await createUser({ db: getPrisma(), input, actor }), { status: 201 });
});
