/**
 * What the login page says when single sign-on was refused: the callback ends at
 * /login?error=<code> (app/_lib/auth/sso.ts, Better Auth's callback). Only these texts are
 * shown — never a description taken from the URL, which anyone can write. Browser-safe.
 */
const MESSAGES: Record<string, string> = {
  no_role:
    "Your identity provider signed you in, but none of your groups gives you a role in this dashboard. Ask an admin to add your group to OIDC_ROLE_MAP (or to set a default role).",
  email_not_verified:
    "Your identity provider does not confirm that your e-mail address is verified, and only verified addresses may sign in. Verify it with your provider, then try again.",
  domain_not_allowed:
    "Your e-mail domain may not sign in to this dashboard (OIDC_ALLOWED_DOMAINS). Use your work account, or ask an admin.",
  account_not_linked:
    "An account with this e-mail address already exists and signs in with a password. For safety, a single sign-on identity is never attached to it automatically: sign in with your password, or ask an admin to remove the password account so you can use single sign-on.",
  signup_disabled: "Single sign-on may not create new accounts here.",
  access_denied: "Sign-in was cancelled at your identity provider.",
};

export function ssoErrorMessage(code: string | undefined): string | null {
  if (!code) return null;
  return (
    MESSAGES[code] ??
    `Single sign-on did not complete (${code.replace(/[^\w.-]/g, "").slice(0, 60)}). Try again; if it keeps failing, an admin can find the reason in the activity log.`
  );
}
