/**
 * Tenants with what the list shows: origin count, mode, version, gateway sync status. `tenant`
 * (an API token limited to one tenant) narrows the list to that one.
 */
import "server-only";
import { listGateways, syncByTenant } from "@/app/_lib/gateways/list-gateways";
import type { Db } from "@/server/db/prisma";
import { joinPolicyDocument, type PolicyMode } from "@/server/policy/document";

export interface TenantSummary {
  slug: string;
  name: string;
  upstreamUrl: string | null;
  /** Where the policy is managed when it is managed by code (read-only here), else null. */
  managedBy: string | null;
  /** Two-person rule: changes wait for a second person's approval (SPEC §5.2). */
  requireApproval: boolean;
  createdAt: string;
  originCount: number;
  mode: PolicyMode;
  version: number;
  policyUpdatedAt: string;
  policyUpdatedBy: string | null;
  /** Live gateways, and how many of them enforce `version`. */
  sync: { live: number; inSync: number };
}

export async function listTenants(options: { db: Db; tenant?: string | null }): Promise<TenantSummary[]> {
  const [tenants, { gateways }] = await Promise.all([
    options.db.tenant.findMany({
      ...(options.tenant ? { where: { slug: options.tenant } } : {}),
      orderBy: { slug: "asc" },
      select: {
        slug: true,
        name: true,
        upstreamUrl: true,
        managedBy: true,
        requireApproval: true,
        createdAt: true,
        policy: { select: { version: true, settings: true, updatedAt: true, updatedBy: true } },
        _count: { select: { origins: true } },
      },
    }),
    listGateways({ db: options.db }),
  ]);
  const withPolicy = tenants.flatMap((t) => (t.policy ? [{ ...t, policy: t.policy }] : []));
  const sync = syncByTenant(
    gateways,
    withPolicy.map((t) => ({ slug: t.slug, version: t.policy.version, updatedAt: t.policy.updatedAt.toISOString() })),
  );
  return withPolicy.map((t) => ({
    slug: t.slug,
    name: t.name,
    upstreamUrl: t.upstreamUrl,
    managedBy: t.managedBy,
    requireApproval: t.requireApproval,
    createdAt: t.createdAt.toISOString(),
    originCount: t._count.origins,
    mode: joinPolicyDocument(t.policy.settings, []).mode,
    version: t.policy.version,
    policyUpdatedAt: t.policy.updatedAt.toISOString(),
    policyUpdatedBy: t.policy.updatedBy,
    sync: sync.get(t.slug) ?? { live: 0, inSync: 0 },
  }));
}
