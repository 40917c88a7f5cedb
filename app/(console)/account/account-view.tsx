"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { api, errorMessage } from "@/app/_client/api-client";
import { authClient } from "@/app/_client/auth-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { keys, sessionsQuery } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { QrCode } from "@/app/_components/qr-code";
import { Empty, ErrorState, Loading } from "@/app/_components/status";
import { MIN_PASSWORD } from "@/server/domain/users/user-input";

export function AccountView(props: {
  email: string;
  hasPassword: boolean;
  twoFactorEnabled: boolean;
  secondFactorRequired: boolean;
}) {
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Account</h1>
          <p className="muted">{props.email}</p>
        </div>
      </div>
      {props.secondFactorRequired ? (
        <div className="callout callout-warn" role="alert" data-testid="second-factor-required">
          Admins must sign in with a second factor here (REQUIRE_2FA_FOR_ADMINS). Set one up below; the rest of the
          dashboard opens once it is on.
        </div>
      ) : null}
      {props.hasPassword ? (
        <>
          <PasswordSection />
          <TwoFactorSection enabled={props.twoFactorEnabled} />
        </>
      ) : (
        <div className="panel">
          <h2 className="h4">Password and second factor</h2>
          <p className="muted">
            You sign in with single sign-on: your identity provider manages your password and MFA.
          </p>
        </div>
      )}
      <SessionsSection />
    </div>
  );
}

function PasswordSection() {
  const toast = useToast();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const newPassword = String(form.get("newPassword") ?? "");
    if (newPassword !== String(form.get("confirm") ?? "")) {
      setError("The new passwords do not match.");
      return;
    }
    setPending(true);
    setError(null);
    const { error } = await authClient.changePassword({
      currentPassword: String(form.get("currentPassword") ?? ""),
      newPassword,
      revokeOtherSessions: true,
    });
    setPending(false);
    if (error) {
      setError(
        error.code === "INVALID_PASSWORD"
          ? "The current password is wrong."
          : error.code === "PASSWORD_TOO_SHORT"
            ? `The new password needs at least ${MIN_PASSWORD} characters.`
            : error.message || "The password could not be changed.",
      );
      return;
    }
    formElement.reset();
    toast.success("Password changed; every other session was signed out");
  }
  return (
    <form className="panel form" onSubmit={submit} aria-label="Change password" noValidate>
      <h2 className="h4">Password</h2>
      <p className="muted small">Changing it signs out every other session of yours.</p>
      <div className="form-row">
        <label className="field">
          <span className="label">Current password</span>
          <input name="currentPassword" type="password" autoComplete="current-password" required />
        </label>
        <label className="field">
          <span className="label">New password ({MIN_PASSWORD}+ characters)</span>
          <input name="newPassword" type="password" autoComplete="new-password" required />
        </label>
        <label className="field">
          <span className="label">Repeat the new password</span>
          <input name="confirm" type="password" autoComplete="new-password" required />
        </label>
        <div className="field field-button">
          <button type="submit" className="btn btn-primary" disabled={pending}>
            {pending ? "Changing…" : "Change password"}
          </button>
        </div>
      </div>
      {error ? (
        <div className="callout callout-error" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}

function TwoFactorSection({ enabled }: { enabled: boolean }) {
  const router = useRouter();
  const toast = useToast();
  const [enrolment, setEnrolment] = useState<{ totpURI: string; backupCodes: string[] } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function start(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    setPending(true);
    setError(null);
    const { data, error } = await authClient.twoFactor.enable({ password });
    setPending(false);
    if (error || !data || data.method !== "totp") {
      setError(error?.code === "INVALID_PASSWORD" ? "The password is wrong." : (error?.message ?? "Could not start."));
      return;
    }
    setEnrolment({ totpURI: data.totpURI, backupCodes: data.backupCodes });
  }

  async function confirm(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "").trim();
    setPending(true);
    setError(null);
    const { error } = await authClient.twoFactor.verifyTotp({ code });
    setPending(false);
    if (error) {
      setError(
        error.code === "CODE_ALREADY_USED" ? "That code was used already; wait for the next one." : "Wrong code.",
      );
      return;
    }
    setCodes(enrolment?.backupCodes ?? null);
    setEnrolment(null);
    toast.success("Two-factor sign-in is on");
    router.refresh();
  }

  async function disable(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    setPending(true);
    setError(null);
    const { error } = await authClient.twoFactor.disable({ password });
    setPending(false);
    if (error) {
      setError(
        error.code === "INVALID_PASSWORD" ? "The password is wrong." : (error.message ?? "Could not turn it off."),
      );
      return;
    }
    toast.success("Two-factor sign-in is off");
    router.refresh();
  }

  async function regenerate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    setPending(true);
    setError(null);
    const { data, error } = await authClient.twoFactor.generateBackupCodes({ password });
    setPending(false);
    if (error || !data) {
      setError(
        error?.code === "INVALID_PASSWORD" ? "The password is wrong." : (error?.message ?? "Could not generate."),
      );
      return;
    }
    setCodes(data.backupCodes);
  }

  const recoveryCodes = codes ? (
    <div className="callout callout-warn" data-testid="recovery-codes">
      <strong>Recovery codes (each works once; keep them somewhere safe — they are not shown again):</strong>
      <ul className="mono">
        {codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <button type="button" className="btn btn-sm" onClick={() => setCodes(null)}>
        I have saved them
      </button>
    </div>
  ) : null;
  const errorBox = error ? (
    <div className="callout callout-error" role="alert">
      {error}
    </div>
  ) : null;

  return (
    <section className="panel form" aria-label="Two-factor sign-in">
      <h2 className="h4">
        Two-factor sign-in{" "}
        <span className={enabled ? "badge badge-ok" : "badge badge-muted"} data-testid="two-factor-status">
          {enabled ? "on" : "off"}
        </span>
      </h2>
      {recoveryCodes}
      {enrolment ? (
        <form className="form" onSubmit={confirm} aria-label="Confirm the authenticator app">
          <p className="muted small">
            Scan this code with an authenticator app (or enter the key by hand), then type the 6-digit code it shows.
          </p>
          <QrCode value={enrolment.totpURI} label="TOTP enrolment QR code" />
          <details>
            <summary className="small">Can't scan it?</summary>
            <code className="mono small" data-testid="totp-uri">
              {enrolment.totpURI}
            </code>
          </details>
          <label className="field">
            <span className="label">Code from the app</span>
            <input name="code" autoComplete="one-time-code" inputMode="numeric" required />
          </label>
          {errorBox}
          <button type="submit" className="btn btn-primary" disabled={pending}>
            Turn on
          </button>
        </form>
      ) : enabled ? (
        <div className="form-row">
          <form className="form" onSubmit={regenerate} aria-label="New recovery codes">
            <label className="field">
              <span className="label">Password</span>
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
            <button type="submit" className="btn" disabled={pending}>
              New recovery codes
            </button>
          </form>
          <form className="form" onSubmit={disable} aria-label="Turn off two-factor sign-in">
            <label className="field">
              <span className="label">Password</span>
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
            <button type="submit" className="btn btn-danger" disabled={pending}>
              Turn off
            </button>
          </form>
          {errorBox}
        </div>
      ) : (
        <form className="form" onSubmit={start} aria-label="Set up two-factor sign-in">
          <p className="muted small">
            A code from an authenticator app (TOTP) on every password sign-in, with single-use recovery codes.
          </p>
          <label className="field">
            <span className="label">Password</span>
            <input name="password" type="password" autoComplete="current-password" required />
          </label>
          {errorBox}
          <button type="submit" className="btn btn-primary" disabled={pending}>
            Set up
          </button>
        </form>
      )}
    </section>
  );
}

function SessionsSection() {
  const sessions = useQuery(sessionsQuery());
  const queryClient = useQueryClient();
  const toast = useToast();
  const router = useRouter();
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/api/v1/me/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onSuccess: () => toast.success("Session ended"),
    onError: (e) => toast.error(errorMessage(e)),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.sessions(), exact: true }),
  });
  const everywhere = useMutation({
    mutationFn: () => api<{ revoked: number }>("/api/v1/me/sessions/revoke-all", { method: "POST", body: {} }),
    onSuccess: () => {
      router.replace("/login");
      router.refresh();
    },
    onError: (e) => toast.error(errorMessage(e)),
  });
  return (
    <section className="panel" aria-label="Sessions">
      <div className="page-head">
        <h2 className="h4">Sessions</h2>
        <button type="button" className="btn btn-danger btn-sm" onClick={() => everywhere.mutate()}>
          Sign out everywhere
        </button>
      </div>
      {sessions.isPending ? (
        <Loading />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} onRetry={() => sessions.refetch()} />
      ) : sessions.data.sessions.length === 0 ? (
        <Empty title="No sessions" />
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Your sessions">
            <thead>
              <tr>
                <th>Signed in</th>
                <th>Last active</th>
                <th>Address</th>
                <th>Browser</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {sessions.data.sessions.map((s) => (
                <tr key={s.id}>
                  <td title={absoluteTime(s.createdAt)}>
                    {relativeTime(s.createdAt)} {s.current ? <span className="badge badge-ok">this one</span> : null}
                  </td>
                  <td title={absoluteTime(s.updatedAt)}>{relativeTime(s.updatedAt)}</td>
                  <td className="mono">{s.ipAddress ?? "—"}</td>
                  <td className="small">{s.userAgent ?? "—"}</td>
                  <td>
                    {s.current ? null : (
                      <button
                        type="button"
                        className="btn btn-sm"
                        onClick={() => revoke.mutate(s.id)}
                        aria-label={`End the session from ${s.ipAddress ?? "an unknown address"}`}
                      >
                        End
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
