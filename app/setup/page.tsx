import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { setupAvailable } from "@/app/_lib/auth/complete-setup";
import { getPrisma } from "@/app/_lib/db";
import { SetupForm } from "./setup-form";

export const metadata: Metadata = { title: "First admin" };

// GET /setup - create the first admin with the one-time setup token (public while no admin exists)
export default async function SetupPage() {
  await connection(); // rendered per request: whether an admin exists changes
  const available = await setupAvailable({ db: getPrisma() });
  return (
    <main className="auth-page">
      <div className="auth-card">
        <h1 className="auth-title">Create the first admin</h1>
        {available ? (
          <>
            <p className="muted">
              Paste the one-time setup token that <code>npm start</code> printed (it starts with <code>ogs_</code>). It
              works once; a newer start replaces it.
            </p>
            <SetupForm />
          </>
        ) : (
          <div className="callout callout-info">
            An admin already exists. <Link href="/login">Sign in</Link>, or ask an admin for an account.
          </div>
        )}
      </div>
    </main>
  );
}
