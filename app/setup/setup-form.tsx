"use client";
/**
 * The first-admin form. Every field is checked before anything is sent, and every problem is
 * shown at once (fixing one error only to be shown the next is what this replaces); the
 * server checks again (422 with one issue per field, shown the same way).
 */
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { ApiError, api, fieldErrors as issuesByField, validationIssues } from "@/app/_client/api-client";
import { authClient } from "@/app/_client/auth-client";
import { emailSchema, MIN_PASSWORD, passwordSchema } from "@/server/domain/users/user-input";

type SetupFields = { token: string; email: string; password: string; confirm: string };

/** Every field's problem at once (empty when the form may be sent). */
function checkSetupForm(input: SetupFields): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!input.token.trim()) errors.token = "required: the one-time token printed when OriginGate first started";
  const email = emailSchema.safeParse(input.email);
  if (!input.email.trim()) errors.email = "required";
  else if (!email.success) errors.email = email.error.issues[0]?.message ?? "must be an e-mail address";
  const password = passwordSchema.safeParse(input.password);
  if (!password.success) errors.password = password.error.issues[0]?.message ?? "not a valid password";
  if (input.password !== input.confirm) errors.confirm = "the two passwords differ";
  return errors;
}

export function SetupForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = {
      token: String(form.get("token") ?? ""),
      email: String(form.get("email") ?? ""),
      name: String(form.get("name") ?? ""),
      password: String(form.get("password") ?? ""),
    };
    setError(null);
    const problems = checkSetupForm({ ...input, confirm: String(form.get("confirm") ?? "") });
    setFieldErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setPending(true);
    try {
      await api("/api/setup", { method: "POST", body: input });
      const signedIn = await authClient.signIn.email({ email: input.email, password: input.password });
      if (signedIn.error) {
        router.replace("/login");
        return;
      }
      router.replace("/tenants");
      router.refresh();
    } catch (e) {
      setPending(false);
      if (e instanceof ApiError && e.status === 422 && validationIssues(e).length > 0) {
        setFieldErrors(issuesByField(e));
      } else {
        setError(e instanceof Error ? e.message : String(e));
      }
    }
  }

  const fieldError = (name: string) =>
    fieldErrors[name] ? (
      <span className="field-error" id={`${name}-error`}>
        {fieldErrors[name]}
      </span>
    ) : null;

  return (
    <form className="form" onSubmit={onSubmit} noValidate>
      <label className="field">
        <span className="label">Setup token</span>
        <input
          name="token"
          autoComplete="off"
          spellCheck={false}
          required
          className="mono"
          aria-invalid={!!fieldErrors.token}
          aria-describedby="token-error"
        />
        {fieldError("token")}
      </label>
      <label className="field">
        <span className="label">Your e-mail</span>
        <input
          name="email"
          type="email"
          autoComplete="username"
          required
          aria-invalid={!!fieldErrors.email}
          aria-describedby="email-error"
        />
        {fieldError("email")}
      </label>
      <label className="field">
        <span className="label">Name</span>
        <input name="name" autoComplete="name" />
      </label>
      <label className="field">
        <span className="label">Password (at least {MIN_PASSWORD} characters)</span>
        <input
          name="password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={!!fieldErrors.password}
          aria-describedby="password-error"
        />
        {fieldError("password")}
      </label>
      <label className="field">
        <span className="label">Repeat password</span>
        <input
          name="confirm"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={!!fieldErrors.confirm}
          aria-describedby="confirm-error"
        />
        {fieldError("confirm")}
      </label>
      {error ? (
        <div className="callout callout-error" role="alert">
          {error}
        </div>
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={pending}>
        {pending ? "Creating…" : "Create admin and sign in"}
      </button>
    </form>
  );
}
