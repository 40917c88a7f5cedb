import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { setupAvailable } from "../_lib/auth/complete-setup";
import { dashboardOrigin } from "../_lib/auth/csrf";
import { currentUser } from "../_lib/auth/page-auth";
import { safeNextPath } from "../_lib/auth/safe-next";
import { getPrisma } from "../_lib/db";
import { LoginForm } from "./login-form";

export const metadata: Metadata = { title: "Sign in" };

// GET /login - sign in (public)
export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next } = await searchParams;
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
        {firstRun ? (
          <div className="callout callout-info">
            No admin exists yet. <Link href="/setup">Create the first admin</Link> with the setup token printed by{" "}
            <code>npm start</code>.
          </div>
        ) : null}
        <LoginForm next={target} dashboardOrigin={dashboardOrigin()} />
      </div>
    </main>
  );
}
