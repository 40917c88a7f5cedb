/**
 * The Account page's content for a user (server side: what their account has), shown by
 * /account and — in place of any other page — by the console layout while an admin still has
 * to set up a second factor (REQUIRE_2FA_FOR_ADMINS).
 */
import type { PageUser } from "@/app/_lib/auth/page-auth";
import { getPrisma } from "@/app/_lib/db";
import { config } from "@/server/config";
import { AccountView } from "./account-view";

export async function AccountPanel({ user }: { user: PageUser }) {
  const [password, row] = await Promise.all([
    getPrisma().account.count({ where: { userId: user.id, providerId: "credential" } }),
    getPrisma().user.findUnique({ where: { id: user.id }, select: { twoFactorEnabled: true } }),
  ]);
  return (
    <AccountView
      email={user.email}
      hasPassword={password > 0 && config().PASSWORD_SIGN_IN}
      twoFactorEnabled={row?.twoFactorEnabled === true}
      secondFactorRequired={user.secondFactorPending}
    />
  );
}
