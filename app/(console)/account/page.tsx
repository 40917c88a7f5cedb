import type { Metadata } from "next";
import { requirePageUser } from "@/app/_lib/auth/page-auth";
import { AccountPanel } from "./account-panel";

export const metadata: Metadata = { title: "Account" };

// GET /account - your password, second factor and sessions (every signed-in user)
export default async function AccountPage() {
  return <AccountPanel user={await requirePageUser()} />;
}
