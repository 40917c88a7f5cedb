/** One tenant's settings and policy summary (never its token secret). */
import "server-only";
import { listGateways, syncByTenant } from "@/app/_lib/gateways/list-gateways";
import type { Db } from "@/server/db/prisma";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { joinPolicyDocument } from "@/server/policy/document";
import type { TenantSummary } from "./list-tenants";

export interface TenantDetail extends TenantSummary {
  updatedAt: string;
  tokenSecretRotatedAt: string;
}

export async function getTenant(options: { db: Db; slug: string }): Promise<TenantDetail> {
  const tenant = await findTenant(options);
  const [policy, originCount, { gateways }] = await Promise.all([
    options.db.policy.findUnique({ where: { tenantId: tenant.id } }),
    options.db.allowedOrigin.count({ where: { tenantId: tenant.id } }),
    listGateways({ db: options.db }),
  ]);
  const version = policy?.version ?? 0;
  const updatedAt = (policy?.updatedAt ?? tenant.updatedAt).toISOString();
  const sync = syncByTenant(gateways, [{ slug: tenant.slug, version, updatedAt }]).get(tenant.slug) ?? {
    live: 0,
    inSync: 0,
  };
  return {
    slug: tenant.slug,
    name: tenant.name,
    upstreamUrl: tenant.upstreamUrl,
    managedBy: tenant.managedBy,
    requireApproval: tenant.requireApproval,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
    tokenSecretRotatedAt: tenant.tokenSecretRotatedAt.toISOString(),
    originCount,
    mode: joinPolicyDocument(policy?.settings, []).mode,
    version,
    policyUpdatedAt: updatedAt,
    policyUpdatedBy: policy?.updatedBy ?? null,
    sync,
  };
}
