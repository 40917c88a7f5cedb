/**
 * What one request to Better Auth (/api/auth/*) learns along the way, for the activity log:
 * who it is about (the e-mail tried, the user behind a session or a second-factor challenge)
 * and, for single sign-on, the role the provider's claims mapped to. An AsyncLocalStorage per
 * request, opened by the auth route (app/api/auth/[...all]/route.ts); Better Auth's hooks and
 * callbacks (auth.ts, sso.ts) read and fill it. Outside that route it is absent and the
 * helpers do nothing.
 */
import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";

export interface AuthRequestFacts {
  /** The client address (TRUST_PROXY rule). */
  address: string;
  /** The user the request is about, once known. */
  userId?: string;
  email?: string;
  /** Single sign-on: the role the claims mapped to, or why the user was refused. */
  ssoRole?: string;
  ssoRefusal?: string;
  /** The session's user had a second factor before this request (a verify then enrols nothing). */
  hadSecondFactor?: boolean;
  /** The second-factor step runs inside a sign-in (no session yet) rather than an enrolment. */
  secondFactorSignIn?: boolean;
  /** A TOTP code reserved by this request (released again if the code turns out wrong). */
  reservedTotpKey?: string;
}

const storage = new AsyncLocalStorage<AuthRequestFacts>();

export function runAuthRequest<T>(address: string, run: () => Promise<T>): Promise<T> {
  return storage.run({ address }, run);
}

export function authRequest(): AuthRequestFacts | undefined {
  return storage.getStore();
}
