/**
 * Single sign-on settings (SPEC §7), read from the environment by server/config.ts and
 * checked together, so a half-configured identity provider stops the process at start with
 * one line that names the variable, instead of failing at the first sign-in:
 *
 *   OIDC_ISSUER           the provider's issuer URL (discovery: <issuer>/.well-known/openid-configuration)
 *   OIDC_CLIENT_ID        this dashboard's client at the provider (required with OIDC_ISSUER)
 *   OIDC_CLIENT_SECRET    its secret (required: the dashboard is a confidential client)
 *   OIDC_ALLOWED_DOMAINS  e-mail domains that may sign in, comma-separated (`*` = any; required)
 *   OIDC_ROLE_CLAIM       the claim that carries groups or roles (default `groups`)
 *   OIDC_ROLE_MAP         `group=role,group=role`; a user gets the highest role any of their
 *                         groups maps to
 *   OIDC_DEFAULT_ROLE     the role of a user none of whose groups maps; `none` or unset refuses them
 *   OIDC_SCOPES           scopes asked for (default `openid email profile`; must hold `openid`)
 *   OIDC_PROVIDER_NAME    what the sign-in button says (default "single sign-on")
 *
 * Pure: no I/O. `roleForClaims` is the one place where a provider's claims become a role.
 */

/** The dashboard's roles, lowest first (server/domain/auth/permissions.ts ROLES; a test keeps them equal). */
export const SSO_ROLES = ["viewer", "editor", "admin"] as const;
export type SsoRole = (typeof SSO_ROLES)[number];

export interface SsoConfig {
  issuer: string;
  discoveryUrl: string;
  clientId: string;
  clientSecret: string;
  /** Lower-case domains, or "*" for any. */
  allowedDomains: readonly string[] | "*";
  roleClaim: string;
  /** group -> role */
  roleMap: ReadonlyMap<string, SsoRole>;
  /** null: a user whose groups map to no role is refused. */
  defaultRole: SsoRole | null;
  scopes: readonly string[];
  providerName: string;
}

/** The Better Auth provider id of the one OIDC provider (callback: /api/auth/callback/oidc). */
export const SSO_PROVIDER_ID = "oidc";

interface SsoEnv {
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  OIDC_ALLOWED_DOMAINS?: string;
  OIDC_ROLE_CLAIM?: string;
  OIDC_ROLE_MAP?: string;
  OIDC_DEFAULT_ROLE?: string;
  OIDC_SCOPES?: string;
  OIDC_PROVIDER_NAME?: string;
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

function isRole(value: string): value is SsoRole {
  return (SSO_ROLES as readonly string[]).includes(value);
}

/** null when OIDC_ISSUER is unset (and no other OIDC_* is); throws Error with a one-line message otherwise. */
export function parseSsoConfig(env: SsoEnv): SsoConfig | null {
  if (!env.OIDC_ISSUER) {
    const stray = (Object.keys(env) as Array<keyof SsoEnv>).find(
      (k) => k.startsWith("OIDC_") && env[k] !== undefined && env[k] !== "",
    );
    if (stray) throw new Error(`${stray} is set but OIDC_ISSUER is not: set the issuer to turn single sign-on on`);
    return null;
  }
  if (!env.OIDC_CLIENT_ID) throw new Error("OIDC_CLIENT_ID is required with OIDC_ISSUER");
  if (!env.OIDC_CLIENT_SECRET) throw new Error("OIDC_CLIENT_SECRET is required with OIDC_ISSUER");
  if (!env.OIDC_ALLOWED_DOMAINS) {
    throw new Error(
      "OIDC_ALLOWED_DOMAINS is required with OIDC_ISSUER: the e-mail domains that may sign in, comma-separated (or * for any)",
    );
  }
  let allowedDomains: string[] | "*";
  if (env.OIDC_ALLOWED_DOMAINS.trim() === "*") allowedDomains = "*";
  else {
    allowedDomains = env.OIDC_ALLOWED_DOMAINS.split(",")
      .map((d) => d.trim().toLowerCase().replace(/^@/, ""))
      .filter((d) => d !== "");
    for (const domain of allowedDomains) {
      if (!DOMAIN.test(domain)) {
        throw new Error(`OIDC_ALLOWED_DOMAINS: "${domain}" is not a domain name (e.g. example.com)`);
      }
    }
    if (allowedDomains.length === 0) throw new Error("OIDC_ALLOWED_DOMAINS names no domain");
  }
  const roleClaim = env.OIDC_ROLE_CLAIM ?? "groups";
  if (!/^[\w.:/-]{1,200}$/.test(roleClaim)) {
    throw new Error(`OIDC_ROLE_CLAIM must be a claim name (letters, digits, _ . : / -), got "${roleClaim}"`);
  }
  const roleMap = new Map<string, SsoRole>();
  for (const part of (env.OIDC_ROLE_MAP ?? "").split(",")) {
    if (part.trim() === "") continue;
    const at = part.lastIndexOf("=");
    const group = at > 0 ? part.slice(0, at).trim() : "";
    const role = at > 0 ? part.slice(at + 1).trim() : "";
    if (group === "" || role === "") {
      throw new Error(`OIDC_ROLE_MAP entries are group=role, comma-separated (got "${part.trim()}")`);
    }
    if (!isRole(role)) throw new Error(`OIDC_ROLE_MAP: "${role}" is not a role (${SSO_ROLES.join(", ")})`);
    const previous = roleMap.get(group);
    if (previous !== undefined && previous !== role) {
      throw new Error(`OIDC_ROLE_MAP maps "${group}" twice (${previous} and ${role})`);
    }
    roleMap.set(group, role);
  }
  let defaultRole: SsoRole | null = null;
  const fallback = env.OIDC_DEFAULT_ROLE?.toLowerCase();
  if (fallback !== undefined && fallback !== "none") {
    if (!isRole(fallback)) {
      throw new Error(`OIDC_DEFAULT_ROLE must be ${SSO_ROLES.join(", ")} or none (got "${env.OIDC_DEFAULT_ROLE}")`);
    }
    defaultRole = fallback;
  }
  if (roleMap.size === 0 && defaultRole === null) {
    throw new Error("single sign-on gives nobody a role: set OIDC_ROLE_MAP (group=role,...) and/or OIDC_DEFAULT_ROLE");
  }
  const scopes = (env.OIDC_SCOPES ?? "openid email profile").split(/[\s,]+/).filter((s) => s !== "");
  if (!scopes.includes("openid")) throw new Error("OIDC_SCOPES must include openid");
  const issuer = env.OIDC_ISSUER.replace(/\/+$/, "");
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET,
    allowedDomains,
    roleClaim,
    roleMap,
    defaultRole,
    scopes,
    providerName: env.OIDC_PROVIDER_NAME ?? "single sign-on",
  };
}

/** The claim's values: a string (space- or comma-separated lists are split), an array of strings, or nothing. */
export function claimValues(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (typeof value === "string") return value.split(/[\s,]+/).filter((v) => v !== "");
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** The highest role any of the user's groups maps to, else the default role, else null (refused). */
export function roleForClaims(sso: SsoConfig, claims: Record<string, unknown>): SsoRole | null {
  let best: SsoRole | null = null;
  for (const group of claimValues(claims, sso.roleClaim)) {
    const role = sso.roleMap.get(group);
    if (role !== undefined && (best === null || SSO_ROLES.indexOf(role) > SSO_ROLES.indexOf(best))) best = role;
  }
  return best ?? sso.defaultRole;
}

/** Whether an e-mail's domain may sign in. */
export function domainAllowed(sso: SsoConfig, email: string): boolean {
  if (sso.allowedDomains === "*") return true;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return email.includes("@") && sso.allowedDomains.includes(domain);
}
