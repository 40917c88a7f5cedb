/**
 * Better Auth (email + password; public sign-up disabled) over Prisma.
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
 * out (sign-in-limits.ts, sign-in-guard.ts; the hooks below).
 */

import "server-only";
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError, createAuthMiddleware, isAPIError } from "better-auth/api";
import { SETTING_AUTH_SECRET } from "../../../server/db/settings";
import { config } from "../config";
import { getPrisma } from "../db";
import { log } from "../log";
import { deploymentSetting } from "../settings";
import { MAX_PASSWORD, MIN_PASSWORD } from "../users/user-input";
import { CLIENT_ADDRESS_HEADER } from "./request-address";
import { reserveSignIn, settleSignIn } from "./sign-in-guard";

/** Sign-in requests (right or wrong) per client address per minute: Better Auth's flood guard. */
export const SIGN_IN_REQUESTS_PER_MINUTE = 60;

async function authSecret(): Promise<string> {
  return config().AUTH_SECRET || (await deploymentSetting(SETTING_AUTH_SECRET));
}

/** The sign-in request's e-mail and client address, or null for any other request. */
function signInAttempt(ctx: { path?: string; body?: unknown; headers?: Headers }) {
  if (ctx.path !== "/sign-in/email") return null;
  const email = (ctx.body as { email?: unknown } | undefined)?.email;
  if (typeof email !== "string") return null;
  return { email, address: ctx.headers?.get(CLIENT_ADDRESS_HEADER) ?? "unknown" };
}

function createAuth(secret: string) {
  const settings = config();
  const dashboard = new URL(settings.dashboardUrl);
  const https = dashboard.protocol === "https:";
  return betterAuth({
    appName: "OriginGate",
    baseURL: settings.dashboardUrl,
    basePath: "/api/auth",
    secret,
    database: prismaAdapter(getPrisma(), { provider: "postgresql" }),
    trustedOrigins: [dashboard.origin],
    emailAndPassword: {
      enabled: true,
      // Accounts are created by admins (Users page, `npm run ctl -- user:create`) or the
      // one-time setup, never by visitors.
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD,
      maxPasswordLength: MAX_PASSWORD,
    },
    user: {
      additionalFields: {
        // Read by the dashboard; never settable through Better Auth's own endpoints.
        role: { type: "string", input: false, required: false, defaultValue: "viewer" },
      },
    },
    session: { expiresIn: 60 * 60 * 12, updateAge: 60 * 60 },
    rateLimit: {
      enabled: true,
      storage: "database",
      window: 60,
      max: 300,
      customRules: { "/sign-in/email": { window: 60, max: SIGN_IN_REQUESTS_PER_MINUTE } },
    },
    // Endpoints this product does not offer (accounts are managed by admins).
    disabledPaths: [
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
      before: createAuthMiddleware(async (ctx) => {
        const attempt = signInAttempt(ctx);
        if (!attempt) return;
        const verdict = await reserveSignIn({ db: getPrisma(), ...attempt });
        if (!verdict.allowed) {
          throw new APIError(
            "TOO_MANY_REQUESTS",
            {
              code: "TOO_MANY_ATTEMPTS",
              message: `Too many failed sign-in attempts${verdict.scope === "address" ? " from this address" : " for this account from this address"}. Try again in ${verdict.retryAfterSeconds} seconds.`,
            },
            { "Retry-After": String(verdict.retryAfterSeconds) },
          );
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        const attempt = signInAttempt(ctx);
        if (!attempt) return;
        const returned = ctx.context.returned;
        const succeeded = returned !== undefined && !isAPIError(returned) && Boolean(ctx.context.newSession);
        await settleSignIn({ db: getPrisma(), ...attempt, succeeded });
      }),
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
