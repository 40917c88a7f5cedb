/**
 * Renames a tenant, sets its upstream URL, and/or marks it as managed by code (or removes
 * the mark; admins only, like every tenant setting). The slug is immutable.
 */
import "server-only";
import type { z } from "zod";
import type { Db } from "../db";
import { findTenant } from "./find-tenant";
import { updateTenantInput } from "./tenant-input";

export async function updateTenant(options: {
  db: Db;
  slug: string;
  input: z.input<typeof updateTenantInput>;
}): Promise<void> {
  const input = updateTenantInput.parse(options.input);
  const tenant = await findTenant(options);
  await options.db.tenant.update({
    where: { id: tenant.id },
    data: {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.upstreamUrl !== undefined ? { upstreamUrl: input.upstreamUrl } : {}),
      ...(input.managedBy !== undefined ? { managedBy: input.managedBy } : {}),
    },
  });
}
