/**
 * Single sign-on (OIDC, Better Auth's generic OAuth plugin with discovery; auth.ts): who may
 * sign in, and with which role. Better Auth calls `validateSsoUser` for every provider
 * identity before it creates a user or a session (`user.validateUserInfo`); a refusal ends the
 * callback at /login?error=<code>, where the page explains it (app/login/sso-errors.ts).
 *
 * Rules, in order:
 *  - only this deployment's provider (`oidc`); linking a provider identity to an existing user
 *    is never done (auth.ts turns implicit linking off: an existing password account with the
 *    same e-mail is refused as `account_not_linked`, never taken over);
 *  - the provider must say the e-mail is verified (`email_verified: true`), else
 *    `email_not_verified`;
 *  - its domain must be in OIDC_ALLOWED_DOMAINS, else `domain_not_allowed`;
 *  - the role comes from OIDC_ROLE_CLAIM through OIDC_ROLE_MAP (highest wins), else
 *    OIDC_DEFAULT_ROLE, else `no_role`.
 * The role is set on the new user at the first sign-in and brought in line with the provider
 * at every later one (`user.role_change` by "oidc"; a demotion revokes the user's API tokens
 * above the new role). The provider is the source of truth for SSO users' roles.
 */
import "server-only";
import { getPrisma } from "@/app/_lib/db";
import { revokeCreatorTokens } from "@/app/_lib/tokens/revoke-creator-tokens";
import { recordActivity } from "@/server/domain/activity/record-activity";
import type { Role } from "@/server/domain/auth/permissions";
import { lockUserRoles } from "@/server/domain/users/lock-user-roles";
import { domainAllowed, roleForClaims, SSO_PROVIDER_ID, type SsoConfig } from "@/server/sso-config";
import { authRequest } from "./auth-request";

export interface SsoRefusal {
  error: string;
  errorDescription: string;
}

interface ValidateData {
  user: Record<string, unknown>;
  source: { action: string; method: string; oauth?: { providerId: string; profile?: Record<string, unknown> } };
}

export async function validateSsoUser(sso: SsoConfig, data: ValidateData): Promise<SsoRefusal | undefined> {
  if (data.source.method !== "oauth") return undefined;
  const facts = authRequest();
  const refuse = (error: string, errorDescription: string): SsoRefusal => {
    if (facts) facts.ssoRefusal = error;
    return { error, errorDescription };
  };
  const email = typeof data.user.email === "string" ? data.user.email.toLowerCase() : "";
  if (facts && email) facts.email = email;
  if (data.source.oauth?.providerId !== SSO_PROVIDER_ID) return refuse("provider_unknown", "Unknown sign-in provider");
  if (data.source.action === "link-account") {
    return refuse("account_not_linked", "A single sign-on identity is never linked to an existing account");
  }
  if (data.user.emailVerified !== true) {
    return refuse("email_not_verified", "The identity provider does not say this e-mail address is verified");
  }
  if (!email || !domainAllowed(sso, email)) {
    return refuse("domain_not_allowed", "This e-mail domain may not sign in to this dashboard");
  }
  const role = roleForClaims(sso, data.source.oauth?.profile ?? {});
  if (role === null) {
    return refuse("no_role", `None of your ${sso.roleClaim} maps to a role in this dashboard`);
  }
  if (facts) facts.ssoRole = role;
  if (data.source.action === "create-user") {
    // Better Auth creates exactly this object once validation passes (the role is not an
    // input field, so it cannot come from the provider's profile by itself).
    data.user.role = role;
  } else if (data.source.action === "sign-in" && typeof data.user.id === "string") {
    await syncSsoRole(data.user.id, role, facts?.address ?? null);
  }
  return undefined;
}

/** Brings an SSO user's role in line with what the provider's claims map to now. */
async function syncSsoRole(userId: string, role: Role, address: string | null): Promise<void> {
  await getPrisma().$transaction(async (tx) => {
    await lockUserRoles(tx);
    const user = await tx.user.findUnique({ where: { id: userId } });
    if (!user || user.role === role) return;
    await tx.user.update({ where: { id: userId }, data: { role } });
    const revoked = await revokeCreatorTokens(tx, userId, role);
    await recordActivity(tx, {
      actor: { id: null, label: "oidc", kind: "system", address },
      action: "user.role_change",
      target: user.email,
      summary: `Role ${user.role} → ${role} from the identity provider's ${SSO_PROVIDER_ID} claims at sign-in${revoked > 0 ? `; ${revoked} API token(s) they created above ${role} revoked` : ""}`,
      details: { from: user.role, to: role },
    });
  });
}
