"use client";
import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useState } from "react";
import { authClient } from "@/app/_client/auth-client";
import { safeNextPath } from "@/app/_lib/auth/safe-next";

type Step = "password" | "second-factor";

export function LoginForm({
  next,
  dashboardOrigin,
  passwordSignIn,
  sso,
}: {
  next: string;
  dashboardOrigin: string;
  passwordSignIn: boolean;
  /** The single sign-on button's provider name, when single sign-on is configured. */
  sso: string | null;
}) {
  const router = useRouter();
  // Sign-in and every change must come from DASHBOARD_URL's origin (CSRF protection); say so
  // up front instead of failing obscurely when the page was opened at another address.
  const [wrongOrigin, setWrongOrigin] = useState(false);
  useEffect(() => setWrongOrigin(window.location.origin !== dashboardOrigin), [dashboardOrigin]);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [step, setStep] = useState<Step>("password");
  const [recovery, setRecovery] = useState(false);

  function done() {
    // The server already checked `next`; the same rule again before navigating, so a value
    // that reached this component some other way can never leave the dashboard's origin.
    router.replace(safeNextPath(next, dashboardOrigin));
    router.refresh();
  }

  async function onPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const { data, error } = await authClient.signIn.email({
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
    });
    setPending(false);
    if (error) {
      setError(
        error.status === 429
          ? error.message || "Too many sign-in attempts. Wait a few minutes and try again."
          : error.status === 401
            ? "Wrong e-mail or password."
            : error.message || "Sign-in failed.",
      );
      return;
    }
    if ((data as { twoFactorRedirect?: boolean } | null)?.twoFactorRedirect) {
      setStep("second-factor");
      return;
    }
    done();
  }

  async function onCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "").trim();
    setPending(true);
    setError(null);
    const { error } = recovery
      ? await authClient.twoFactor.verifyBackupCode({ code })
      : await authClient.twoFactor.verifyTotp({ code });
    setPending(false);
    if (error) {
      const expired = error.code === "INVALID_TWO_FACTOR_COOKIE" || error.code === "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE";
      setError(
        expired
          ? "Too many wrong codes, or the sign-in took too long: enter your password again."
          : error.code === "CODE_ALREADY_USED"
            ? "That code was used already. Wait for the next one from your authenticator app."
            : error.status === 429
              ? error.message || "Too many attempts. Wait a moment and try again."
              : recovery
                ? "That recovery code is wrong or was used already."
                : "Wrong code. Check your authenticator app's clock and try again.",
      );
      if (expired) setStep("password");
      return;
    }
    done();
  }

  async function onSso() {
    setPending(true);
    setError(null);
    const { error } = await authClient.signIn.social({
      provider: "oidc",
      callbackURL: safeNextPath(next, dashboardOrigin),
      errorCallbackURL: "/login",
    });
    // On success the browser is on its way to the identity provider.
    if (error) {
      setPending(false);
      setError(error.message || "Single sign-on could not start.");
    }
  }

  const originWarning = wrongOrigin ? (
    <div className="callout callout-warn" role="alert">
      This dashboard is configured for <a href={`${dashboardOrigin}/login`}>{dashboardOrigin}</a> (DASHBOARD_URL);
      sign-in from this address is refused. Open it there, or set DASHBOARD_URL to the address you use.
    </div>
  ) : null;
  const errorBox = error ? (
    <div className="callout callout-error" role="alert">
      {error}
    </div>
  ) : null;

  if (step === "second-factor") {
    return (
      <form className="form" onSubmit={onCode} noValidate aria-label="Second factor">
        <p className="muted">
          {recovery
            ? "Enter one of your recovery codes. Each works once."
            : "Enter the 6-digit code from your authenticator app."}
        </p>
        <label className="field">
          <span className="label">{recovery ? "Recovery code" : "Authentication code"}</span>
          <input
            key={recovery ? "recovery" : "totp"}
            name="code"
            autoComplete="one-time-code"
            inputMode={recovery ? "text" : "numeric"}
            required
          />
        </label>
        {errorBox}
        <button type="submit" className="btn btn-primary" disabled={pending}>
          {pending ? "Checking…" : "Verify"}
        </button>
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => setRecovery((r) => !r)}>
          {recovery ? "Use the authenticator app instead" : "Use a recovery code instead"}
        </button>
      </form>
    );
  }

  return (
    <div className="form">
      {originWarning}
      {sso ? (
        <button type="button" className="btn btn-primary" onClick={onSso} disabled={pending}>
          Sign in with {sso}
        </button>
      ) : null}
      {passwordSignIn ? (
        <form className="form" onSubmit={onPassword} noValidate>
          {sso ? <p className="muted small">or with your e-mail and password:</p> : null}
          <label className="field">
            <span className="label">E-mail</span>
            <input name="email" type="email" autoComplete="username" required />
          </label>
          <label className="field">
            <span className="label">Password</span>
            <input name="password" type="password" autoComplete="current-password" required />
          </label>
          {errorBox}
          <button type="submit" className={sso ? "btn" : "btn btn-primary"} disabled={pending}>
            {pending ? "Signing in…" : "Sign in"}
          </button>
        </form>
      ) : (
        errorBox
      )}
    </div>
  );
}
