import { cookies } from "next/headers";
import type { ReactNode } from "react";
import { SessionProvider } from "@/app/_client/session";
import { parseTheme, THEME_COOKIE } from "@/app/_client/theme";
import { AppShell } from "@/app/_components/app-shell";
import { requirePageUser } from "@/app/_lib/auth/page-auth";
import { AccountPanel } from "./account/account-panel";

// Every page of the console needs a signed-in user; each page checks its own permission. An
// admin who must still set up a second factor (REQUIRE_2FA_FOR_ADMINS) sees the Account
// panel instead of any page until it is on (the API refuses them too).
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requirePageUser();
  const theme = parseTheme((await cookies()).get(THEME_COOKIE)?.value);
  return (
    <SessionProvider value={{ email: user.email, name: user.name, role: user.role }}>
      <AppShell theme={theme}>{user.secondFactorPending ? <AccountPanel user={user} /> : children}</AppShell>
    </SessionProvider>
  );
}
