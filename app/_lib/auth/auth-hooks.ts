/**
 * Better Auth's hooks (auth.ts `hooks.before` / `hooks.after`): the checks that run around its
 * own endpoints, and the activity log of its events.
 *
 * Before an endpoint:
 *  - `/sign-in/email`: the password-guess limits (sign-in-guard.ts); a refusal is logged as
 *    `auth.sign_in_failed`;
 *  - `/sign-in/social`: only the redirect flow (an ID token posted by the page is refused);
 *  - `/change-password`: other sessions are always ended (`revokeOtherSessions: true` required);
 *  - `/two-factor/verify-*`: never "trust this device" (every password sign-in of a user with a
 *    second factor asks for a code); a TOTP code is reserved so it is accepted once only
 *    (totp-replay.ts);
 *  - endpoints that end or change a session: who it is, noted before the session is gone.
 * After an endpoint (the outcome, in the activity log, actor = the e-mail concerned):
 *  `auth.sign_in` (password, password + second factor, single sign-on), `auth.sign_in_failed`
 *  (wrong password, wrong or reused code, SSO refusal with its code), `auth.sign_out`,
 *  `auth.password_change` / `auth.password_change_failed`, `auth.two_factor_enable`,
 *  `auth.two_factor_disable`, `auth.backup_codes_regenerate`.
 * Entries are written after Better Auth's own writes (it owns those transactions). Nothing
 * from a request body is logged but the e-mail tried.
 */
import "server-only";
import { APIError, getSessionFromCtx, isAPIError } from "better-auth/api";
import { getPrisma } from "@/app/_lib/db";
import { log } from "@/app/_lib/log";
import { recordActivity } from "@/server/domain/activity/record-activity";
import { type AuthRequestFacts, authRequest } from "./auth-request";
import { CLIENT_ADDRESS_HEADER } from "./request-address";
import { reserveSignIn, settleSignIn } from "./sign-in-guard";
import { releaseTotpCode, reserveTotpCode, totpKey } from "./totp-replay";

/** The parts of Better Auth's hook context used here (its full type is generic and huge). */
export interface HookContext {
  path?: string;
  body?: unknown;
  headers?: Headers;
  context: {
    returned?: unknown;
    newSession?: { user: { id: string; email: string; twoFactorEnabled?: boolean | null } } | null;
    secret: string;
    createAuthCookie: (name: string) => { name: string };
    internalAdapter: { findVerificationValue: (identifier: string) => Promise<{ value: string } | null> };
  };
  getSignedCookie: (name: string, secret: string) => Promise<string | null | false>;
}

const SESSION_PATHS = new Set([
  "/sign-out",
  "/change-password",
  "/two-factor/enable",
  "/two-factor/disable",
  "/two-factor/generate-backup-codes",
]);
const VERIFY_PATHS = new Set(["/two-factor/verify-totp", "/two-factor/verify-backup-code"]);

function facts(ctx: HookContext): AuthRequestFacts {
  return authRequest() ?? { address: ctx.headers?.get(CLIENT_ADDRESS_HEADER) ?? "unknown" };
}

function bodyField(ctx: HookContext, name: string): unknown {
  return (ctx.body as Record<string, unknown> | undefined)?.[name];
}

function isCallback(path: string | undefined): boolean {
  return path?.startsWith("/callback/") === true;
}

export async function beforeAuthEndpoint(ctx: HookContext): Promise<void> {
  const f = facts(ctx);
  const path = ctx.path ?? "";
  if (path === "/sign-in/email") {
    const email = bodyField(ctx, "email");
    if (typeof email !== "string") return;
    f.email = email.trim().toLowerCase().slice(0, 254);
    const verdict = await reserveSignIn({ db: getPrisma(), email, address: f.address });
    if (!verdict.allowed) {
      await record(
        f,
        "auth.sign_in_failed",
        `Refused before the password was checked: too many failed attempts (${verdict.scope})`,
      );
      throw new APIError(
        "TOO_MANY_REQUESTS",
        {
          code: "TOO_MANY_ATTEMPTS",
          message: `Too many failed sign-in attempts${verdict.scope === "address" ? " from this address" : " for this account from this address"}. Try again in ${verdict.retryAfterSeconds} seconds.`,
        },
        { "Retry-After": String(verdict.retryAfterSeconds) },
      );
    }
    return;
  }
  if (path === "/sign-in/social" && bodyField(ctx, "idToken") !== undefined) {
    throw new APIError("BAD_REQUEST", {
      code: "ID_TOKEN_SIGN_IN_DISABLED",
      message: "Sign in through the provider's redirect; an ID token cannot be posted here",
    });
  }
  if (path === "/change-password" && bodyField(ctx, "revokeOtherSessions") !== true) {
    throw new APIError("BAD_REQUEST", {
      code: "REVOKE_OTHER_SESSIONS_REQUIRED",
      message: "A password change always ends every other session: send revokeOtherSessions: true",
    });
  }
  if (SESSION_PATHS.has(path) || VERIFY_PATHS.has(path)) {
    const session = await getSessionFromCtx(ctx as never).catch(() => null);
    if (session) {
      f.userId = session.user.id;
      f.email = session.user.email;
      f.hadSecondFactor = (session.user as { twoFactorEnabled?: boolean | null }).twoFactorEnabled === true;
    }
  }
  if (!VERIFY_PATHS.has(path)) return;
  if (bodyField(ctx, "trustDevice") === true) {
    throw new APIError("BAD_REQUEST", {
      code: "TRUST_DEVICE_DISABLED",
      message: "Devices are not remembered: every sign-in asks for a code",
    });
  }
  if (!f.userId) {
    // A sign-in's second step: the user is the one behind the signed challenge cookie.
    f.secondFactorSignIn = true;
    const identifier = await ctx.getSignedCookie(ctx.context.createAuthCookie("two_factor").name, ctx.context.secret);
    const challenge = identifier ? await ctx.context.internalAdapter.findVerificationValue(identifier) : null;
    if (challenge) {
      f.userId = challenge.value;
      const user = await getPrisma().user.findUnique({ where: { id: challenge.value }, select: { email: true } });
      if (user) f.email = user.email;
    }
  }
  const code = bodyField(ctx, "code");
  if (path === "/two-factor/verify-totp" && f.userId && typeof code === "string") {
    const key = totpKey(f.userId, code.trim());
    if (!(await reserveTotpCode(getPrisma(), key))) {
      if (f.secondFactorSignIn)
        await record(f, "auth.sign_in_failed", "Refused a second-factor code that was used already");
      throw new APIError("UNAUTHORIZED", {
        code: "CODE_ALREADY_USED",
        message: "This code was used already; wait for the next one from your authenticator app",
      });
    }
    f.reservedTotpKey = key;
  }
}

export async function afterAuthEndpoint(ctx: HookContext): Promise<void> {
  const f = facts(ctx);
  const path = ctx.path ?? "";
  const returned = ctx.context.returned;
  const failed = returned === undefined || isAPIError(returned);
  const newSession = ctx.context.newSession ?? null;
  try {
    if (path === "/sign-in/email") {
      if (!f.email) return;
      const succeeded = !failed && newSession !== null;
      await settleSignIn({ db: getPrisma(), email: f.email, address: f.address, succeeded });
      if (succeeded && newSession) {
        // With a second factor the sign-in is not done yet: its second step is what is logged.
        if (newSession.user.twoFactorEnabled) return;
        f.userId = newSession.user.id;
        await record(f, "auth.sign_in", "Signed in with a password");
      } else if (failed && !isTooMany(returned)) {
        await record(f, "auth.sign_in_failed", "Wrong e-mail or password");
      }
      return;
    }
    if (isCallback(path)) {
      // Both outcomes are redirects (an APIError "FOUND"): a session is what tells them apart.
      if (newSession) {
        f.userId = newSession.user.id;
        f.email = newSession.user.email;
        await record(f, "auth.sign_in", `Signed in with single sign-on${f.ssoRole ? ` (role ${f.ssoRole})` : ""}`);
      } else {
        const code = f.ssoRefusal ?? redirectError(returned) ?? "unknown";
        await record(f, "auth.sign_in_failed", `Single sign-on refused: ${code}`, { code });
      }
      return;
    }
    if (VERIFY_PATHS.has(path)) {
      const method = path === "/two-factor/verify-totp" ? "a TOTP code" : "a recovery code";
      if (failed) {
        if (f.reservedTotpKey) await releaseTotpCode(getPrisma(), f.reservedTotpKey);
        if (f.secondFactorSignIn) await record(f, "auth.sign_in_failed", `Wrong second-factor code (${method})`);
        return;
      }
      if (f.secondFactorSignIn) await record(f, "auth.sign_in", `Signed in with a password and ${method}`);
      else if (!f.hadSecondFactor)
        await record(f, "auth.two_factor_enable", "Turned on two-factor sign-in (TOTP) and received recovery codes");
      return;
    }
    if (!f.email) return;
    if (path === "/sign-out" && !failed) await record(f, "auth.sign_out", "Signed out");
    else if (path === "/change-password") {
      if (failed)
        await record(
          f,
          "auth.password_change_failed",
          "Password change refused (wrong current password or an invalid new one)",
        );
      else await record(f, "auth.password_change", "Changed the password; every other session was ended");
    } else if (path === "/two-factor/disable" && !failed) {
      await record(f, "auth.two_factor_disable", "Turned off two-factor sign-in");
    } else if (path === "/two-factor/generate-backup-codes" && !failed) {
      await record(f, "auth.backup_codes_regenerate", "Generated new recovery codes (the old ones no longer work)");
    }
  } catch (error) {
    // The sign-in itself happened (or was refused); a failed log write is reported, not hidden.
    log().error({ path, err: (error as Error).message }, "recording an auth event in the activity log failed");
  }
}

function isTooMany(returned: unknown): boolean {
  return isAPIError(returned) && returned.statusCode === 429;
}

/** The `error` of a redirect to the error page (a refused single sign-on callback). */
function redirectError(returned: unknown): string | null {
  if (!isAPIError(returned)) return null;
  const headers = (returned as { headers?: unknown }).headers;
  const location =
    headers instanceof Headers
      ? headers.get("location")
      : ((headers as Record<string, string> | undefined)?.location ?? null);
  if (!location) return null;
  try {
    return new URL(location, "http://x").searchParams.get("error");
  } catch {
    return null;
  }
}

async function record(f: AuthRequestFacts, action: string, summary: string, details?: Record<string, unknown>) {
  await recordActivity(getPrisma(), {
    actor: {
      id: f.userId ?? null,
      label: f.email || "unknown",
      kind: f.userId ? "user" : "anonymous",
      address: f.address,
    },
    action,
    target: f.email ?? null,
    summary,
    ...(details ? { details } : {}),
  });
}
