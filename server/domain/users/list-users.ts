/** All users, admins first. */
import "server-only";
import type { Db } from "../../db/prisma";
import type { UserView } from "./create-user";

export async function listUsers(options: { db: Db }): Promise<UserView[]> {
  const rows = await options.db.user.findMany({ orderBy: [{ role: "desc" }, { email: "asc" }] });
  return rows.map((u) => ({
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    createdAt: u.createdAt.toISOString(),
  }));
}
