import type { Metadata } from "next";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { UsersView } from "./users-view";

export const metadata: Metadata = { title: "Users" };

// GET /users - user management (admin)
export default async function UsersPage() {
  const user = await requirePagePermission("users.manage");
  if (!user) return <Forbidden what="managing users" />;
  return <UsersView selfId={user.id} />;
}
