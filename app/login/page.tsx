import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { setupAvailable } from "@/app/_lib/auth/complete-setup";
import { dashboardOrigin } from "@/app/_lib/auth/csrf";
import { currentUser } from "@/app/_lib/auth/page-auth";
import { safeNextPath } from "@/app/_lib/auth/safe-next";
import { getPrisma } from "@/app/_lib/db";
import { config } from "@/server/config";
import { LoginForm } from "./login-form";
import { ssoErrorMessage } from "./sso-errors";

export const metadata: Metadata = { title: "Sign in" };

// GET /login - sign in (public)
export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<{ next?: string | string[]; error?: string | string[] }>;
}) {
  const { next, error } = await searchParams;
  const ssoError = ssoErrorMessage(typeof error === "string" ? error : undefined);
  const settings = config();
  const target = safeNextPath(next, dashboardOrigin());
  if (await currentUser()) redirect(target);
  const firstRun = await setupAvailable({ db: getPrisma() }).catch(() => false);
  return (
    <main className="auth-page">
      <div className="auth-card">
        <h1 className="auth-title">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          OriginGate
        </h1>
        <p className="muted">WebSocket origin policy — sign in to the control plane.</p>
        {ssoError ? (
          <div className="callout callout-error" role="alert" data-testid="sso-error">
            {ssoError}
          </div>
        ) : null}
        {firstRun && settings.PASSWORD_SIGN_IN ? (
          <div className="callout callout-info">
            No admin exists yet. <Link href="/setup">Create the first admin</Link> with the setup token printed by{" "}
            <code>npm start</code>.
          </div>
        ) : null}
        <LoginForm
          next={target}
          dashboardOrigin={dashboardOrigin()}
          passwordSignIn={settings.PASSWORD_SIGN_IN}
          sso={settings.sso?.providerName ?? null}
        />
      </div>
    </main>
  );
}
