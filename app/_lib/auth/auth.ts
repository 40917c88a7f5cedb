/**
 * Better Auth over Prisma: e-mail + password (public sign-up disabled), a TOTP second factor
 * with recovery codes (two-factor plugin), and single sign-on with OpenID Connect (generic
 * OAuth plugin with discovery) when OIDC_ISSUER is set.
 *
 * Created lazily, once per process: the secret is AUTH_SECRET when set, else the
 * deployment-wide one kept in the `setting` table, so every dashboard process of one
 * deployment signs cookies alike. Nothing here runs at build time.
 *
 * Cookies: HttpOnly, SameSite=Lax, Secure when the dashboard URL is https.
 * Client address: the auth route hands Better Auth each request with
 * CLIENT_ADDRESS_HEADER set by the TRUST_PROXY rule (request-address.ts), and Better Auth
 * reads only that header — for its request-rate limiter (a flood guard, per address) and
 * the address it records on sessions. Password guesses are limited separately, per
 * (account, address), per address and per account, in a way that cannot lock the real user
 * out (sign-in-limits.ts, sign-in-guard.ts; auth-hooks.ts).
 *
 * Second factor (password users): enrolment asks for the password, shows the otpauth URI as
 * a QR code and ten single-use recovery codes, and turns on at the first correct code. Then
 * every password sign-in needs a code: 5 guesses per challenge (then the password again),
 * 10 wrong codes in a row lock the second step for 15 minutes, 3 attempts per 10 s per
 * address, and a code is accepted once only (totp-replay.ts). Devices are never "trusted".
 * Single sign-on (sso.ts): verified e-mail only, allowed domains, role from a claim; an
 * OIDC identity is never linked to an existing account by itself. PASSWORD_SIGN_IN=false
 * turns the password endpoints off. The session list lives in /api/v1/me/sessions (Better
 * Auth's own session endpoints hand every session's token to the page, so they are off).
 */

import "server-only";
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { createAuthMiddleware, isAPIError } from "better-auth/api";
import { genericOAuth } from "better-auth/plugins/generic-oauth";
import { twoFactor } from "better-auth/plugins/two-factor";
import { getPrisma } from "@/app/_lib/db";
import { log } from "@/app/_lib/log";
import { deploymentSetting } from "@/app/_lib/settings";
import { config } from "@/server/config";
import { SETTING_AUTH_SECRET } from "@/server/db/settings";
import { recordActivity } from "@/server/domain/activity/record-activity";
import { MAX_PASSWORD, MIN_PASSWORD } from "@/server/domain/users/user-input";
import { SSO_PROVIDER_ID } from "@/server/sso-config";
import { afterAuthEndpoint, beforeAuthEndpoint, type HookContext } from "./auth-hooks";
import { authRequest } from "./auth-request";
import { CLIENT_ADDRESS_HEADER } from "./request-address";
import { validateSsoUser } from "./sso";

/** Sign-in requests (right or wrong) per client address per minute: Better Auth's flood guard. */
export const SIGN_IN_REQUESTS_PER_MINUTE = 60;

async function authSecret(): Promise<string> {
  return config().AUTH_SECRET || (await deploymentSetting(SETTING_AUTH_SECRET));
}

/** Endpoints this product does not offer (accounts are managed by admins; sessions by /api/v1/me/sessions). */
const DISABLED_PATHS = [
  "/sign-up/email",
  "/update-user",
  "/change-email",
  "/delete-user",
  "/request-password-reset",
  "/reset-password",
  "/verify-email",
  "/send-verification-email",
  "/link-social",
  "/unlink-account",
  "/list-sessions",
  "/revoke-session",
  "/revoke-sessions",
  "/revoke-other-sessions",
  "/get-access-token",
  "/refresh-token",
  "/account-info",
  "/two-factor/send-otp",
  "/two-factor/verify-otp",
];

/** With PASSWORD_SIGN_IN=false nobody signs in, or changes a password, with one. */
const PASSWORD_PATHS = ["/sign-in/email", "/change-password", "/verify-password"];

function createAuth(secret: string) {
  const settings = config();
  const dashboard = new URL(settings.dashboardUrl);
  const https = dashboard.protocol === "https:";
  const sso = settings.sso;
  return betterAuth({
    appName: "OriginGate",
    baseURL: settings.dashboardUrl,
    basePath: "/api/auth",
    secret,
    database: prismaAdapter(getPrisma(), { provider: "postgresql" }),
    trustedOrigins: [dashboard.origin],
    emailAndPassword: {
      enabled: true,
      // Accounts are created by admins (Users page, `npm run ctl -- user:create`), the
      // one-time setup, or a first single sign-on — never by visitors.
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD,
      maxPasswordLength: MAX_PASSWORD,
    },
    user: {
      additionalFields: {
        // Read by the dashboard; never settable through Better Auth's own endpoints.
        role: { type: "string", input: false, required: false, defaultValue: "viewer" },
      },
      ...(sso
        ? { validateUserInfo: (data) => validateSsoUser(sso, data as Parameters<typeof validateSsoUser>[1]) }
        : {}),
    },
    account: {
      // A provider identity is never attached to an existing user by e-mail (SPEC §7): an
      // existing password account with the same address is refused, not taken over.
      accountLinking: { enabled: false, disableImplicitLinking: true },
    },
    databaseHooks: {
      user: {
        create: {
          // Only single sign-on creates users through Better Auth (sign-up is off).
          after: async (user) => {
            const facts = authRequest();
            await recordActivity(getPrisma(), {
              actor: { id: null, label: "oidc", kind: "system", address: facts?.address ?? null },
              action: "user.create",
              target: user.email,
              summary: `Created ${(user as { role?: string }).role ?? "viewer"} ${user.email} at their first single sign-on`,
            });
          },
        },
      },
    },
    session: { expiresIn: 60 * 60 * 12, updateAge: 60 * 60 },
    rateLimit: {
      enabled: true,
      storage: "database",
      window: 60,
      max: 300,
      customRules: {
        "/sign-in/email": { window: 60, max: SIGN_IN_REQUESTS_PER_MINUTE },
        // Current-password guesses by someone holding a session.
        "/change-password": { window: 60, max: 5 },
      },
    },
    disabledPaths: [...DISABLED_PATHS, ...(settings.PASSWORD_SIGN_IN ? [] : PASSWORD_PATHS)],
    plugins: [
      twoFactor({
        issuer: "OriginGate",
        backupCodeOptions: { amount: 10, length: 10 },
        accountLockout: { enabled: true, maxFailedAttempts: 10, durationSeconds: 15 * 60 },
      }),
      ...(sso
        ? [
            genericOAuth({
              config: [
                {
                  providerId: SSO_PROVIDER_ID,
                  name: sso.providerName,
                  discoveryUrl: sso.discoveryUrl,
                  // ID tokens are checked against the provider's JWKS, issuer, audience and nonce.
                  requireIdTokenVerification: true,
                  clientId: sso.clientId,
                  clientSecret: sso.clientSecret,
                  scopes: [...sso.scopes],
                  pkce: true,
                  // Only notes who is signing in (for the activity log, whatever the outcome);
                  // the user's fields come from the verified claims unchanged.
                  mapProfileToUser: (profile) => {
                    const facts = authRequest();
                    if (facts && typeof profile.email === "string") facts.email = profile.email.toLowerCase();
                    return {};
                  },
                },
              ],
            }),
          ]
        : []),
    ],
    advanced: {
      // Only the address this dashboard derived itself (never a client-chosen header).
      ipAddress: { ipAddressHeaders: [CLIENT_ADDRESS_HEADER] },
      useSecureCookies: https,
      cookiePrefix: "origingate",
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax", secure: https, path: "/" },
    },
    telemetry: { enabled: false },
    // Into our structured log, message only: Better Auth's extra arguments may carry request
    // data, and nothing from a request (cookies, passwords, tokens) may reach the log.
    logger: {
      level: "warn",
      log: (level, message) => {
        const logger = log();
        const fields = { component: "auth" };
        if (level === "error") logger.error(fields, message);
        else if (level === "warn") logger.warn(fields, message);
        else logger.info(fields, message);
      },
    },
    // Refusals (401, 429…) are answers, not faults: only server errors reach the log.
    onAPIError: {
      onError: (error) => {
        if (isAPIError(error) && error.statusCode < 500) return;
        log().error({ component: "auth", err: error instanceof Error ? error.message : String(error) }, "auth failed");
      },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => beforeAuthEndpoint(ctx as unknown as HookContext)),
      after: createAuthMiddleware(async (ctx) => afterAuthEndpoint(ctx as unknown as HookContext)),
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;

const holder = globalThis as typeof globalThis & { __origingateAuth?: Promise<Auth> };

export function getAuth(): Promise<Auth> {
  if (!holder.__origingateAuth) {
    holder.__origingateAuth = authSecret().then(createAuth);
    // A failure (database down at the first request) must not be cached forever.
    holder.__origingateAuth.catch(() => {
      holder.__origingateAuth = undefined;
    });
  }
  return holder.__origingateAuth;
}
