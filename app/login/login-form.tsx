"use client";
import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useState } from "react";
import { authClient } from "../_client/auth-client";
import { safeNextPath } from "../_lib/auth/safe-next";

export function LoginForm({ next, dashboardOrigin }: { next: string; dashboardOrigin: string }) {
  const router = useRouter();
  // Sign-in and every change must come from DASHBOARD_URL's origin (CSRF protection); say so
  // up front instead of failing obscurely when the page was opened at another address.
  const [wrongOrigin, setWrongOrigin] = useState(false);
  useEffect(() => setWrongOrigin(window.location.origin !== dashboardOrigin), [dashboardOrigin]);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const { error } = await authClient.signIn.email({
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
    });
    if (error) {
      setPending(false);
      setError(
        error.status === 429
          ? error.message || "Too many sign-in attempts. Wait a few minutes and try again."
          : error.status === 401
            ? "Wrong e-mail or password."
            : error.message || "Sign-in failed.",
      );
      return;
    }
    // The server already checked `next`; the same rule again before navigating, so a value
    // that reached this component some other way can never leave the dashboard's origin.
    router.replace(safeNextPath(next, dashboardOrigin));
    router.refresh();
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate>
      {wrongOrigin ? (
        <div className="callout callout-warn" role="alert">
          This dashboard is configured for <a href={`${dashboardOrigin}/login`}>{dashboardOrigin}</a> (DASHBOARD_URL);
          sign-in from this address is refused. Open it there, or set DASHBOARD_URL to the address you use.
        </div>
      ) : null}
      <label className="field">
        <span className="label">E-mail</span>
        <input name="email" type="email" autoComplete="username" required />
      </label>
      <label className="field">
        <span className="label">Password</span>
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error ? (
        <div className="callout callout-error" role="alert">
          {error}
        </div>
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={pending}>
        {pending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
