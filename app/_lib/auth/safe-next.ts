/**
 * Where to go after sign-in: the `next` query parameter of /login, which anyone can put in
 * a link, so it is an open-redirect vector (`/login?next=/%09/evil.example` used to send the
 * browser to evil.example: the URL parser drops the tab and reads `//evil.example`).
 *
 * The one rule, used by every reader of `next` (the server-side redirect of a signed-in
 * visitor and the client's navigation after a fresh sign-in): resolve the value against
 * DASHBOARD_URL the way a browser would, keep it only when it is a path (starts with `/`)
 * whose resolved origin is the dashboard's own, and return the re-serialized path (so what
 * the browser navigates to is exactly what was checked: no tab, newline or backslash left).
 * Anything else — another host, a scheme, `//x`, `/\x`, a malformed value — is the default
 * page, never an error. Pure and browser-safe.
 */

export const DEFAULT_AFTER_SIGN_IN = "/tenants";

export function safeNextPath(next: unknown, dashboardUrl: string): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.length > 2048) return DEFAULT_AFTER_SIGN_IN;
  let base: URL;
  let target: URL;
  try {
    base = new URL(dashboardUrl);
    target = new URL(next, base);
  } catch {
    return DEFAULT_AFTER_SIGN_IN;
  }
  if (target.origin !== base.origin) return DEFAULT_AFTER_SIGN_IN;
  const path = `${target.pathname}${target.search}${target.hash}`;
  // A path such as `/.//evil.example` resolves on our origin but serializes to
  // `//evil.example`, which a browser reads as another host: refuse what is not a plain path.
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return DEFAULT_AFTER_SIGN_IN;
  return path;
}
