/** Renames a tenant and/or sets its upstream URL (the slug is immutable). */
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
    },
  });
}
