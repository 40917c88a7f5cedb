/** A tenant's live policy document with its version (GET /api/v1/tenants/<slug>/policy). */
import "server-only";
import type { Db } from "@/server/db/prisma";
import type { VersionedPolicyDocument } from "@/server/domain/policy/document";
import { readPolicy } from "@/server/domain/policy/save-policy";
import { findTenant } from "@/server/domain/tenants/find-tenant";

export async function getPolicy(options: { db: Db; slug: string }): Promise<VersionedPolicyDocument> {
  const tenant = await findTenant(options);
  const { version, document } = await readPolicy(options.db, tenant.id);
  return { version, ...document };
}
