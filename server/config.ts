/**
 * Configuration, read only from the environment and validated with zod at start.
 *
 * Every process (start script, gateway, dashboard, ctl) calls `loadConfig()` once. A bad
 * value stops the process with one line naming the variable and what is expected, e.g.
 *   Invalid configuration: GATEWAY_PORT must be an integer from 0 to 65535 (got "80a").
 * Defaults make `npm start` work with no configuration at all.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { parseTrustProxy } from "./net/client-address";
import { parseSecretsKey } from "./secrets/secret-box";
import { parseSsoConfig, type SsoConfig } from "./sso-config";

const port = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n > 65535) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer from 0 to 65535 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const positiveInt = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > max) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer from 1 to ${max} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

/** An optional port that must be a real one when set (1-65535). */
const optionalPort = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer from 1 to 65535 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

/** A bind address: an IP address or a host name. */
const host = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      if (
        isIP(v) === 0 &&
        !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(v)
      ) {
        ctx.addIssue({ code: "custom", message: `${name} must be an IP address or a host name (got "${v}")` });
        return z.NEVER;
      }
      return v;
    });

const url = (name: string, protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      let parsed: URL;
      try {
        parsed = new URL(v);
      } catch {
        ctx.addIssue({
          code: "custom",
          message: `${name} must be a URL (${protocols.join(" or ")}), got "${redact(v)}"`,
        });
        return z.NEVER;
      }
      if (!protocols.includes(parsed.protocol)) {
        ctx.addIssue({
          code: "custom",
          message: `${name} must start with ${protocols.map((p) => `${p}//`).join(" or ")} (got "${redact(v)}")`,
        });
        return z.NEVER;
      }
      return v.replace(/\/+$/, "");
    });

const bool = (name: string, fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      if (["1", "true", "yes"].includes(v.toLowerCase())) return true;
      if (["0", "false", "no"].includes(v.toLowerCase())) return false;
      ctx.addIssue({ code: "custom", message: `${name} must be true or false (got "${v}")` });
      return z.NEVER;
    });

/** Free text; empty or blank = unset. */
const optionalText = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** One gateway label (GATEWAY_LABELS) or canary label: the same rule on both sides. */
export const GATEWAY_LABEL = /^[A-Za-z0-9._:-]{1,64}$/;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const schema = z.object({
  DATABASE_URL: url("DATABASE_URL", ["postgres:", "postgresql:"]),
  PORT: port("PORT", 3000),
  GATEWAY_PORT: port("GATEWAY_PORT", 8080),
  GATEWAY_HOST: z
    .string()
    .optional()
    .default("0.0.0.0")
    .refine((v) => isIP(v) !== 0 || /^[A-Za-z0-9.-]{1,253}$/.test(v), {
      message: "GATEWAY_HOST must be an IP address or a host name to bind to",
    }),
  /**
   * The admin listener (`/healthz`, `/readyz`, `/metrics` move there from the public port):
   * on when ADMIN_PORT is set; ADMIN_HOST defaults to loopback.
   */
  ADMIN_PORT: optionalPort("ADMIN_PORT"),
  ADMIN_HOST: host("ADMIN_HOST"),
  /** Where browsers reach the dashboard; the origin the admin stream and CSRF checks accept. */
  DASHBOARD_URL: url("DASHBOARD_URL", ["http:", "https:"]),
  /** Where browsers reach the gateway (the live audit stream). */
  GATEWAY_PUBLIC_URL: url("GATEWAY_PUBLIC_URL", ["ws:", "wss:"]),
  /** Where the dashboard's server reaches the gateway's admin endpoints (tester). */
  GATEWAY_INTERNAL_URL: url("GATEWAY_INTERNAL_URL", ["http:", "https:"]),
  AUTH_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || v.length >= 32, {
      message: "AUTH_SECRET must be at least 32 characters (or unset: a secret is generated and kept in the database)",
    }),
  LOG_LEVEL: z
    .string()
    .optional()
    .default("info")
    .refine((v): v is (typeof LOG_LEVELS)[number] => (LOG_LEVELS as readonly string[]).includes(v), {
      message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`,
    }),
  GATEWAY_ID: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^[A-Za-z0-9._-]{1,64}$/.test(v), {
      message: "GATEWAY_ID must be 1-64 characters of letters, digits, '.', '_' or '-'",
    }),
  /**
   * Comma-separated labels of this gateway (SPEC §5.2): a canary rollout naming one of them
   * is enforced here for every client. Letters, digits, '.', '_', '-', ':'; at most 16.
   */
  GATEWAY_LABELS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const labels = (v ?? "")
        .split(",")
        .map((l) => l.trim())
        .filter((l) => l !== "");
      const bad = labels.find((l) => !GATEWAY_LABEL.test(l));
      if (bad !== undefined || labels.length > 16) {
        ctx.addIssue({
          code: "custom",
          message: `GATEWAY_LABELS must be at most 16 comma-separated labels of 1-64 letters, digits, '.', '_', '-' or ':'${bad === undefined ? "" : ` (got "${bad.slice(0, 80)}")`}`,
        });
        return z.NEVER;
      }
      return [...new Set(labels)];
    }),
  /** Milliseconds between full version comparisons against Postgres (heals lost notifications). */
  RECONCILE_INTERVAL_MS: positiveInt("RECONCILE_INTERVAL_MS", 3000, 600_000),
  HEARTBEAT_INTERVAL_MS: positiveInt("HEARTBEAT_INTERVAL_MS", 5000, 600_000),
  /** Handshake header timeout and maximum header size, against slow or oversized handshakes. */
  HANDSHAKE_TIMEOUT_MS: positiveInt("HANDSHAKE_TIMEOUT_MS", 10_000, 120_000),
  MAX_HEADER_BYTES: positiveInt("MAX_HEADER_BYTES", 16_384, 1_048_576),
  /** Audit pipeline: in-memory bound, flush interval, fold window. */
  AUDIT_QUEUE_MAX: positiveInt("AUDIT_QUEUE_MAX", 100_000, 10_000_000),
  AUDIT_FLUSH_MS: positiveInt("AUDIT_FLUSH_MS", 100, 60_000),
  AUDIT_FOLD_WINDOW_MS: positiveInt("AUDIT_FOLD_WINDOW_MS", 1000, 60_000),
  /**
   * Days of audit history kept: older daily partitions are dropped whole (server/audit/partitions.ts).
   * Every process that keeps partitions (each gateway, `ctl audit:partitions`) should use the same value.
   */
  AUDIT_RETENTION_DAYS: positiveInt("AUDIT_RETENTION_DAYS", 30, 36_500),
  /** Audit events a gateway holds per SIEM destination while it is unreachable (server/siem/); beyond, dropped and counted. */
  SIEM_QUEUE_MAX: positiveInt("SIEM_QUEUE_MAX", 50_000, 1_000_000),
  /** How often alert rules are evaluated (server/alerts/; one gateway at a time does it). */
  ALERT_EVALUATE_INTERVAL_MS: positiveInt("ALERT_EVALUATE_INTERVAL_MS", 15_000, 86_400_000),
  /** `off`: this gateway neither evaluates alert rules nor sends alert webhooks (another one does). */
  ALERTS: z.enum(["on", "off"], { message: "ALERTS must be on or off" }).default("on"),
  /**
   * Handshakes per minute per client address that name no tenant (or are malformed),
   * counted before the tenant lookup (server/gateway/limits.ts).
   */
  UNKNOWN_TENANT_RATE_PER_MIN: positiveInt("UNKNOWN_TENANT_RATE_PER_MIN", 600, 1_000_000),
  /** Which proxies' X-Forwarded-For entries to trust (server/net/client-address.ts). */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseTrustProxy(v);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** HTTP/SSE proxying (SPEC §4.6): request body bound (413 beyond) and upstream silence bound (503). */
  HTTP_MAX_BODY_BYTES: positiveInt("HTTP_MAX_BODY_BYTES", 10 * 1024 * 1024, 1024 * 1024 * 1024),
  HTTP_UPSTREAM_TIMEOUT_MS: positiveInt("HTTP_UPSTREAM_TIMEOUT_MS", 30_000, 600_000),
  /** Admin stream (live audit feed): open streams per user or API token, and credential re-checks. */
  ADMIN_STREAM_MAX_PER_USER: positiveInt("ADMIN_STREAM_MAX_PER_USER", 5, 200),
  ADMIN_STREAM_RECHECK_MS: positiveInt("ADMIN_STREAM_RECHECK_MS", 5000, 600_000),
  /**
   * Key that encrypts secrets at rest and the gateway's policy snapshot (server/secrets/).
   * `npm start` generates one into .data/secrets.key when unset; a fleet sets it everywhere.
   */
  SECRETS_KEY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      try {
        parseSecretsKey(v);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
      return v.trim();
    }),
  /** Older keys, comma-separated, still accepted for reading during a key rotation. */
  SECRETS_KEY_PREVIOUS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      try {
        for (const k of v.split(",").filter((s) => s.trim() !== "")) parseSecretsKey(k, "SECRETS_KEY_PREVIOUS");
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
      return v;
    }),
  /** Where the gateway keeps its encrypted last-known-good policies (default under .data/). */
  POLICY_SNAPSHOT_PATH: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim())),
  /** Port of the embedded Postgres used when DATABASE_URL is unset. */
  EMBEDDED_PG_PORT: port("EMBEDDED_PG_PORT", 54329),
  /** Single sign-on with OpenID Connect (server/sso-config.ts checks them together). */
  OIDC_ISSUER: url("OIDC_ISSUER", ["http:", "https:"]),
  OIDC_CLIENT_ID: optionalText(),
  OIDC_CLIENT_SECRET: optionalText(),
  OIDC_ALLOWED_DOMAINS: optionalText(),
  OIDC_ROLE_CLAIM: optionalText(),
  OIDC_ROLE_MAP: optionalText(),
  OIDC_DEFAULT_ROLE: optionalText(),
  OIDC_SCOPES: optionalText(),
  OIDC_PROVIDER_NAME: optionalText(),
  /** false: nobody signs in with a password (SSO only). */
  PASSWORD_SIGN_IN: bool("PASSWORD_SIGN_IN", true),
  /** true: an admin who signs in with a password must enrol a TOTP second factor first. */
  REQUIRE_2FA_FOR_ADMINS: bool("REQUIRE_2FA_FOR_ADMINS", false),
  /** API token lifetime in days: what a token gets when none is asked for, and the most allowed. */
  API_TOKEN_DEFAULT_DAYS: positiveInt("API_TOKEN_DEFAULT_DAYS", 90, 3650),
  API_TOKEN_MAX_DAYS: positiveInt("API_TOKEN_MAX_DAYS", 365, 3650),
});

export type Config = z.output<typeof schema> & {
  /** Single sign-on, when OIDC_ISSUER is set (server/sso-config.ts). */
  sso: SsoConfig | null;
  /** The admin listener, when ADMIN_PORT is set (ADMIN_HOST defaults to 127.0.0.1). */
  admin: { host: string; port: number } | null;
  dashboardUrl: string;
  gatewayPublicUrl: string;
  gatewayInternalUrl: string;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

let parsed: Config | undefined;

/**
 * This process's configuration: the environment parsed and validated once, then reused (the
 * dashboard's requests, the domain functions). A bad value throws ConfigError with one
 * readable line on first use.
 */
export function config(): Config {
  parsed ??= loadConfig();
  return parsed;
}

/** Parses the environment; throws ConfigError with one readable line on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue?.path[0] ?? "environment");
    const message = issue?.message ?? "invalid value";
    throw new ConfigError(
      `Invalid configuration: ${message.startsWith(variable) ? message : `${variable}: ${message}`}`,
    );
  }
  const c = result.data;
  if (c.ADMIN_HOST !== undefined && c.ADMIN_PORT === undefined) {
    throw new ConfigError(
      "Invalid configuration: ADMIN_HOST is set but ADMIN_PORT is not: the admin listener needs a port (set both, or neither)",
    );
  }
  if (c.ADMIN_PORT !== undefined && c.ADMIN_PORT === c.GATEWAY_PORT) {
    throw new ConfigError(`Invalid configuration: ADMIN_PORT must differ from GATEWAY_PORT (both are ${c.ADMIN_PORT})`);
  }
  if (c.API_TOKEN_DEFAULT_DAYS > c.API_TOKEN_MAX_DAYS) {
    throw new ConfigError(
      `Invalid configuration: API_TOKEN_DEFAULT_DAYS (${c.API_TOKEN_DEFAULT_DAYS}) must not exceed API_TOKEN_MAX_DAYS (${c.API_TOKEN_MAX_DAYS})`,
    );
  }
  let sso: SsoConfig | null;
  try {
    sso = parseSsoConfig(c);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ${(error as Error).message}`);
  }
  if (!c.PASSWORD_SIGN_IN && !sso) {
    throw new ConfigError(
      "Invalid configuration: PASSWORD_SIGN_IN=false turns passwords off, but single sign-on is not configured (OIDC_ISSUER): nobody could sign in",
    );
  }
  return {
    ...c,
    sso,
    admin: c.ADMIN_PORT === undefined ? null : { host: c.ADMIN_HOST ?? "127.0.0.1", port: c.ADMIN_PORT },
    dashboardUrl: c.DASHBOARD_URL ?? `http://localhost:${c.PORT}`,
    gatewayPublicUrl: c.GATEWAY_PUBLIC_URL ?? `ws://localhost:${c.GATEWAY_PORT}`,
    gatewayInternalUrl: c.GATEWAY_INTERNAL_URL ?? `http://127.0.0.1:${c.GATEWAY_PORT}`,
  };
}

/** For CLI entry points: load or print the one line and exit 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

/** Hides the password of a connection string before it is printed. */
export function redact(connectionString: string): string {
  return connectionString.replace(/\/\/([^:/@]+):([^@]*)@/, "//$1:***@");
}
