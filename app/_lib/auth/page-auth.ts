/**
 * Page guards for server components: every page under app/(console) calls
 * `requirePagePermission` (the layout only checks that someone is signed in). Missing
 * session -> redirect to /login; missing permission -> the page renders <Forbidden/>. An admin
 * who must still enrol a second factor (REQUIRE_2FA_FOR_ADMINS) is allowed nothing here (the
 * console layout shows them the Account panel instead of the page).
 * Deduplicated per request with React's cache().
 */
import "server-only";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { can, type Permission } from "@/server/domain/auth/permissions";
import { type Principal, sessionUser } from "./principal";

export type PageUser = Extract<Principal, { kind: "user" }>;

export const currentUser = cache(async (): Promise<PageUser | null> => sessionUser(await headers()));

export async function requirePageUser(): Promise<PageUser> {
  const user = await currentUser();
  if (!user) redirect("/login");
  return user;
}

/** The user when allowed; `null` when signed in but not allowed (render <Forbidden/>). */
export async function requirePagePermission(permission: Permission): Promise<PageUser | null> {
  const user = await requirePageUser();
  if (user.secondFactorPending) return null;
  return can(user.role, permission) ? user : null;
}
