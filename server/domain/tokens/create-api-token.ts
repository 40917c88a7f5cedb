/**
 * Creates an API token (`token.create`) with a role, an expiry (default API_TOKEN_DEFAULT_DAYS,
 * at most API_TOKEN_MAX_DAYS) and an optional tenant scope; returns the token itself exactly
 * once. A scoped token may only read and change that tenant (apiRoute enforces it on every
 * route; README "API tokens" says what it sees of global lists).
 */
import "server-only";
import type { z } from "zod";
import { config } from "../../config";
import { type Db, inTransaction } from "../../db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "../activity/record-activity";
import type { Role } from "../auth/permissions";
import { validationError } from "../errors";
import { findTenant } from "../tenants/find-tenant";
import { createApiTokenInput } from "./api-token-input";
import { newApiToken } from "./token-format";

export { createApiTokenInput };

export interface ApiTokenView {
  id: string;
  name: string;
  role: Role;
  policyAsCode: boolean;
  prefix: string;
  /** The tenant it is limited to, or null (every tenant). */
  tenant: string | null;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const DAY_MS = 86_400_000;

export async function createApiToken(options: {
  db: Db;
  input: z.input<typeof createApiTokenInput>;
  createdById: string | null;
  actor?: Actor;
  now?: Date;
}): Promise<{ token: string; apiToken: ApiTokenView }> {
  const input = createApiTokenInput.parse(options.input);
  const { API_TOKEN_DEFAULT_DAYS, API_TOKEN_MAX_DAYS } = config();
  const days = input.expiresInDays ?? API_TOKEN_DEFAULT_DAYS;
  if (days > API_TOKEN_MAX_DAYS) {
    throw validationError("The token would live too long", [
      { path: "expiresInDays", message: `at most ${API_TOKEN_MAX_DAYS} days (API_TOKEN_MAX_DAYS)` },
    ]);
  }
  const now = options.now ?? new Date();
  const expiresAt = new Date(now.getTime() + days * DAY_MS);
  const { token, prefix, tokenHash } = newApiToken();
  const row = await inTransaction(options.db, async (tx) => {
    const tenant = input.tenant ? await findTenant({ db: tx, slug: input.tenant }) : null;
    const created = await tx.apiToken.create({
      data: {
        name: input.name,
        role: input.role,
        policyAsCode: input.policyAsCode,
        prefix,
        tokenHash,
        createdById: options.createdById,
        createdAt: now,
        expiresAt,
        scopeTenant: tenant?.slug ?? null,
        scopeTenantId: tenant?.id ?? null,
      },
      include: { createdBy: { select: { email: true } } },
    });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "token.create",
      target: created.name,
      summary: `Created ${created.role} API token "${created.name}" (${prefix}…), ${created.policyAsCode ? "for policy as code, " : ""}${tenant ? `limited to tenant ${tenant.slug}` : "for every tenant"}, expires ${expiresAt.toISOString()}`,
      details: {
        tokenId: created.id,
        role: created.role,
        tenant: tenant?.slug ?? null,
        expiresAt: expiresAt.toISOString(),
      },
    });
    return created;
  });
  return { token, apiToken: toApiTokenView(row) };
}

export function toApiTokenView(row: {
  id: string;
  name: string;
  role: Role;
  policyAsCode: boolean;
  prefix: string;
  scopeTenant: string | null;
  createdAt: Date;
  createdBy: { email: string } | null;
  expiresAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    policyAsCode: row.policyAsCode,
    prefix: row.prefix,
    tenant: row.scopeTenant,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy?.email ?? null,
    expiresAt: row.expiresAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
