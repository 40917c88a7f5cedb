/**
 * Better Auth (email + password; public sign-up disabled) over Prisma.
 *
 * Created lazily, once per process: the secret is AUTH_SECRET when set, else the
 * deployment-wide one kept in the `setting` table, so every dashboard process of one
 * deployment signs cookies alike. Nothing here runs at build time.
 *
 * Cookies: HttpOnly, SameSite=Lax, Secure when the dashboard URL is https. Sign-in attempts
 * are limited twice: per client address (Better Auth's limiter, stored in Postgres so
 * all dashboard processes share it) and per account (below), because the client address
 * comes from X-Forwarded-For, which a client can forge when nothing in front rewrites it.
 */
import { createHash, randomUUID } from "node:crypto";
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError, createAuthMiddleware } from "better-auth/api";
import pg from "pg";
import { loadConfig } from "../../../server/config";
import { getOrCreateSecretSetting, SETTING_AUTH_SECRET } from "../../../server/db/settings";
import { configuredSecretBox } from "../../../server/secrets/secrets-key";
import { databaseUrl, getPrisma } from "../db";
import { log } from "../log";

/** Attempts per account (e-mail address) per window, whatever address they come from. */
export const SIGN_IN_PER_ACCOUNT = { window: 300, max: 10 } as const;
/** Attempts per client address per window. */
export const SIGN_IN_PER_ADDRESS = { window: 300, max: 30 } as const;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

async function authSecret(): Promise<string> {
  const fromEnv = loadConfig().AUTH_SECRET;
  if (fromEnv) return fromEnv;
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return await getOrCreateSecretSetting(client, SETTING_AUTH_SECRET, configuredSecretBox());
  } finally {
    await client.end();
  }
}

/**
 * Counts one sign-in attempt for an account in Better Auth's rate_limit table (same
 * semantics as its own limiter: the count restarts once a window passes without
 * attempts). Returns false when the account is over its limit.
 */
async function consumeAccountAttempt(email: string): Promise<boolean> {
  const key = `sign-in-account:${createHash("sha256").update(email.trim().toLowerCase()).digest("hex")}`;
  const now = Date.now();
  const windowStart = now - SIGN_IN_PER_ACCOUNT.window * 1000;
  const rows = await getPrisma().$queryRaw<Array<{ allowed: boolean }>>`
    insert into rate_limit (id, key, count, last_request) values (${randomUUID()}, ${key}, 1, ${now})
    on conflict (key) do update set
      count = case when rate_limit.last_request <= ${windowStart} then 1 else rate_limit.count + 1 end,
      last_request = case when rate_limit.last_request <= ${windowStart} or rate_limit.count < ${SIGN_IN_PER_ACCOUNT.max}
                          then ${now} else rate_limit.last_request end
    returning count <= ${SIGN_IN_PER_ACCOUNT.max} as allowed`;
  return rows[0]?.allowed ?? false;
}

function createAuth(secret: string) {
  const config = loadConfig();
  const dashboard = new URL(config.dashboardUrl);
  const https = dashboard.protocol === "https:";
  return betterAuth({
    appName: "OriginGate",
    baseURL: config.dashboardUrl,
    basePath: "/api/auth",
    secret,
    database: prismaAdapter(getPrisma(), { provider: "postgresql" }),
    trustedOrigins: [dashboard.origin],
    emailAndPassword: {
      enabled: true,
      // Accounts are created by admins (Users page, `npm run ctl -- user:create`) or the
      // one-time setup, never by visitors.
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: MAX_PASSWORD_LENGTH,
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
      customRules: { "/sign-in/email": { ...SIGN_IN_PER_ADDRESS } },
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
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== "/sign-in/email") return;
        const email = (ctx.body as { email?: unknown } | undefined)?.email;
        if (typeof email !== "string") return;
        if (!(await consumeAccountAttempt(email))) {
          throw new APIError("TOO_MANY_REQUESTS", {
            message: "Too many sign-in attempts for this account. Wait a few minutes and try again.",
          });
        }
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
