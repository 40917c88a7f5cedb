// GET /api/v1/me - who is calling (user or token), their role and permissions
import { apiRoute } from "@/app/_lib/api/api-route";
import { ROLE_PERMISSIONS } from "@/server/domain/auth/permissions";

export const GET = apiRoute(
  { permission: "authenticated", tenantScope: "filtered", beforeSecondFactor: true },
  async ({ principal }) =>
    Response.json({
      kind: principal.kind,
      label: principal.label,
      role: principal.role,
      ...(principal.kind === "user"
        ? { email: principal.email, name: principal.name, secondFactorPending: principal.secondFactorPending }
        : { name: principal.name, expiresAt: principal.expiresAt }),
      tenant: principal.tenant,
      permissions: ROLE_PERMISSIONS[principal.role],
    }),
);
