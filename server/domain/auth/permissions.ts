/**
 * Roles and what they may do. Checked on the server for every page, route handler and
 * (should one exist) server action; the UI only mirrors it to hide what would be refused.
 *
 * viewer: read everything a security team looks at (tenants, policies, history, fleet,
 *         audit). editor: also change policies (allowlist and credential policy, rollback)
 *         and run the handshake tester. admin: also tenants (create, rename, delete,
 *         upstream, secret rotation), users, API tokens, SIEM destinations and alerts, and read the
 *         activity log.
 *
 * Browser-safe (no imports): client components use `can()` to decide what to show.
 */

export const ROLES = ["viewer", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  "tenants.read",
  "tenants.write",
  "tenants.rotate_secret",
  "policy.read",
  "policy.write",
  "gateways.read",
  "audit.read",
  "tester.run",
  "tester.endpoints.write",
  "users.manage",
  "tokens.manage",
  "siem.manage",
  "alerts.manage",
  "activity.read",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const VIEWER = ["tenants.read", "policy.read", "gateways.read", "audit.read"] as const satisfies readonly Permission[];
const EDITOR = [...VIEWER, "policy.write", "tester.run"] as const satisfies readonly Permission[];
const ADMIN = PERMISSIONS;

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: VIEWER,
  editor: EDITOR,
  admin: ADMIN,
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** Plain words for each role, shown where roles are chosen. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: "Read-only: tenants, policies, history, gateways, audit.",
  editor: "Viewer, plus edit allowlists and credential policies, roll back, run the tester.",
  admin:
    "Editor, plus create/rename/delete tenants, rotate secrets, manage users, API tokens, SIEM export and alerts, read the activity log.",
};
