/** Creates an API token with a role; returns the token itself exactly once. */
import "server-only";
import type { z } from "zod";
import type { Role } from "../auth/permissions";
import type { Db } from "../db";
import { createApiTokenInput } from "./api-token-input";
import { newApiToken } from "./token-format";

export { createApiTokenInput };

export interface ApiTokenView {
  id: string;
  name: string;
  role: Role;
  policyAsCode: boolean;
  prefix: string;
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export async function createApiToken(options: {
  db: Db;
  input: z.input<typeof createApiTokenInput>;
  createdById: string | null;
}): Promise<{ token: string; apiToken: ApiTokenView }> {
  const input = createApiTokenInput.parse(options.input);
  const { token, prefix, tokenHash } = newApiToken();
  const row = await options.db.apiToken.create({
    data: {
      name: input.name,
      role: input.role,
      policyAsCode: input.policyAsCode,
      prefix,
      tokenHash,
      createdById: options.createdById,
    },
    include: { createdBy: { select: { email: true } } },
  });
  return {
    token,
    apiToken: {
      id: row.id,
      name: row.name,
      role: row.role,
      policyAsCode: row.policyAsCode,
      prefix: row.prefix,
      createdAt: row.createdAt.toISOString(),
      createdBy: row.createdBy?.email ?? null,
      lastUsedAt: null,
      revokedAt: null,
    },
  };
}
