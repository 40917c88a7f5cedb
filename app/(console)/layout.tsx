import type { ReactNode } from "react";
import { SessionProvider } from "../_client/session";
import { AppShell } from "../_components/app-shell";
import { requirePageUser } from "../_lib/auth/page-auth";

// Every page of the console needs a signed-in user; each page checks its own permission.
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requirePageUser();
  return (
    <SessionProvider value={{ email: user.email, name: user.name, role: user.role }}>
      <AppShell>{children}</AppShell>
    </SessionProvider>
  );
}
