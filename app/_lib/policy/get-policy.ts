/** A tenant's live policy document with its version (GET /api/v1/tenants/<slug>/policy). */
import "server-only";
import type { Db } from "../db";
import { findTenant } from "../tenants/find-tenant";
import type { VersionedPolicyDocument } from "./document";
import { readPolicy } from "./save-policy";

export async function getPolicy(options: { db: Db; slug: string }): Promise<VersionedPolicyDocument> {
  const tenant = await findTenant(options);
  const { version, document } = await readPolicy(options.db, tenant.id);
  return { version, ...document };
}
