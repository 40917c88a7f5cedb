import type { Metadata } from "next";
import { requirePageUser } from "../../_lib/auth/page-auth";
import { config } from "../../_lib/config";
import { getPrisma } from "../../_lib/db";
import { AccountView } from "./account-view";

export const metadata: Metadata = { title: "Account" };

// GET /account - your password, second factor and sessions (every signed-in user)
export default async function AccountPage() {
  const user = await requirePageUser();
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
