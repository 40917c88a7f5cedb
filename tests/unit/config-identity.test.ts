/**
 * Single sign-on, password and API-token settings (server/sso-config.ts, server/config.ts):
 * a half-configured identity provider, a bad role map or contradictory limits stop the process
 * at start with one line naming the variable; claims map to the highest role, else the
 * default, else nobody.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig as loadConfigFromEnv } from "../../server/config";
import { ROLES } from "../../server/domain/auth/permissions";
import { domainAllowed, roleForClaims, SSO_ROLES } from "../../server/sso-config";

const loadConfig = (env: Record<string, string>) => loadConfigFromEnv(env as NodeJS.ProcessEnv);

const SSO = {
  OIDC_ISSUER: "https://idp.example.com/",
  OIDC_CLIENT_ID: "origingate",
  OIDC_CLIENT_SECRET: "s3cret",
  OIDC_ALLOWED_DOMAINS: "Example.com, @corp.example",
  OIDC_ROLE_MAP: "ops=admin,dev=editor,all=viewer",
};

function refused(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("accepted");
}

describe("single sign-on configuration", () => {
  it("is off without OIDC_ISSUER, and parsed with it", () => {
    expect(loadConfig({}).sso).toBeNull();
    const sso = loadConfig(SSO).sso;
    expect(sso).toMatchObject({
      issuer: "https://idp.example.com",
      discoveryUrl: "https://idp.example.com/.well-known/openid-configuration",
      allowedDomains: ["example.com", "corp.example"],
      roleClaim: "groups",
      defaultRole: null,
      scopes: ["openid", "email", "profile"],
    });
  });

  it("refuses half a configuration, naming the variable", () => {
    expect(refused({ OIDC_CLIENT_ID: "x" })).toMatch(/OIDC_CLIENT_ID is set but OIDC_ISSUER is not/);
    expect(refused({ ...SSO, OIDC_CLIENT_SECRET: "" })).toMatch(/OIDC_CLIENT_SECRET is required/);
    expect(refused({ ...SSO, OIDC_ALLOWED_DOMAINS: "" })).toMatch(/OIDC_ALLOWED_DOMAINS is required/);
    expect(refused({ ...SSO, OIDC_ALLOWED_DOMAINS: "not a domain" })).toMatch(/not a domain name/);
    expect(refused({ ...SSO, OIDC_ROLE_MAP: "ops=root" })).toMatch(/"root" is not a role/);
    expect(refused({ ...SSO, OIDC_ROLE_MAP: "ops" })).toMatch(/group=role/);
    expect(refused({ ...SSO, OIDC_ROLE_MAP: "ops=admin,ops=viewer" })).toMatch(/maps "ops" twice/);
    expect(refused({ ...SSO, OIDC_ROLE_MAP: "", OIDC_DEFAULT_ROLE: "none" })).toMatch(/gives nobody a role/);
    expect(refused({ ...SSO, OIDC_DEFAULT_ROLE: "boss" })).toMatch(/OIDC_DEFAULT_ROLE must be/);
    expect(refused({ ...SSO, OIDC_SCOPES: "email profile" })).toMatch(/must include openid/);
    expect(refused({ ...SSO, OIDC_ISSUER: "ftp://idp" })).toMatch(/OIDC_ISSUER must start with http/);
  });

  it("PASSWORD_SIGN_IN=false needs single sign-on", () => {
    expect(refused({ PASSWORD_SIGN_IN: "false" })).toMatch(/nobody could sign in/);
    expect(loadConfig({ ...SSO, PASSWORD_SIGN_IN: "false" }).PASSWORD_SIGN_IN).toBe(false);
    expect(refused({ PASSWORD_SIGN_IN: "maybe" })).toMatch(/PASSWORD_SIGN_IN must be true or false/);
  });

  it("maps claims to the highest role, else the default, else nobody; checks the domain", () => {
    const sso = loadConfig(SSO).sso!;
    expect(roleForClaims(sso, { groups: ["all", "dev"] })).toBe("editor");
    expect(roleForClaims(sso, { groups: "dev ops" })).toBe("admin");
    expect(roleForClaims(sso, { groups: ["marketing"] })).toBeNull();
    expect(roleForClaims(sso, {})).toBeNull();
    expect(roleForClaims(sso, { groups: [42, { ops: true }] })).toBeNull();
    const withDefault = loadConfig({ ...SSO, OIDC_DEFAULT_ROLE: "viewer", OIDC_ROLE_CLAIM: "roles" }).sso!;
    expect(roleForClaims(withDefault, { groups: ["ops"] })).toBe("viewer");
    expect(roleForClaims(withDefault, { roles: ["ops"] })).toBe("admin");
    expect(domainAllowed(sso, "a@example.com")).toBe(true);
    expect(domainAllowed(sso, "a@EXAMPLE.COM")).toBe(true);
    expect(domainAllowed(sso, "a@evil-example.com")).toBe(false);
    expect(domainAllowed(sso, "a@sub.example.com")).toBe(false);
    expect(domainAllowed(sso, "example.com")).toBe(false);
    expect(domainAllowed(loadConfig({ ...SSO, OIDC_ALLOWED_DOMAINS: "*" }).sso!, "x@anything.test")).toBe(true);
  });

  it("uses the dashboard's roles", () => {
    expect([...SSO_ROLES]).toEqual([...ROLES]);
  });
});

describe("API token lifetimes", () => {
  it("defaults to 90 days, at most 365, and the default never exceeds the maximum", () => {
    const c = loadConfig({});
    expect([c.API_TOKEN_DEFAULT_DAYS, c.API_TOKEN_MAX_DAYS]).toEqual([90, 365]);
    expect(refused({ API_TOKEN_DEFAULT_DAYS: "400" })).toMatch(/must not exceed API_TOKEN_MAX_DAYS/);
    expect(refused({ API_TOKEN_MAX_DAYS: "0" })).toMatch(/API_TOKEN_MAX_DAYS must be an integer from 1 to 3650/);
  });
});
