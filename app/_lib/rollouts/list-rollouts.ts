/**
 * A tenant's rollouts, newest first, with their steps; and one rollout with its document,
 * its diff against the version it was opened from and, while it is open, its impact preview
 * against the active version (what an approver reviews).
 */
import "server-only";
import { type ImpactPreview, previewStagedImpact } from "@/app/_lib/policy/preview-impact";
import type { Queryable } from "@/server/db/audit-queries";
import type { Db } from "@/server/db/prisma";
import { notFound } from "@/server/domain/errors";
import { diffDocuments, type PolicyDiff } from "@/server/domain/policy/diff-documents";
import { type RolloutView, toRolloutView } from "@/server/domain/rollouts/rollout-view";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { type PolicyDocument, parsePolicyDocument } from "@/server/policy/document";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function listRollouts(options: {
  db: Db;
  slug: string;
  limit?: number;
}): Promise<{ rollouts: RolloutView[]; requireApproval: boolean }> {
  const tenant = await findTenant(options);
  const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
  const rows = await options.db.policyRollout.findMany({
    where: { tenantId: tenant.id },
    orderBy: [{ createdAt: "desc" }, { version: "desc" }],
    take: limit,
    include: { steps: { orderBy: { id: "asc" } } },
  });
  return {
    rollouts: rows.map(({ steps, ...row }) => toRolloutView(tenant.slug, row, steps)),
    requireApproval: tenant.requireApproval,
  };
}

export interface RolloutDetail extends RolloutView {
  document: PolicyDocument;
  /** Changes from the version it was opened from (`baseVersion`) to this one. */
  diff: PolicyDiff;
  /**
   * While the rollout is open: its version replayed against the active one over the last 7
   * days of recorded handshakes (the save bar's preview, POST .../policy/impact). Null once
   * it is closed (promoted, aborted, rejected): there is no change left to judge.
   */
  impact: ImpactPreview | null;
}

export async function getRollout(options: {
  db: Db;
  slug: string;
  id: string;
  now?: Date;
  /** Where the audit rollup is read (default: the dashboard's audit pool). */
  auditDb?: Queryable;
}): Promise<RolloutDetail> {
  const tenant = await findTenant(options);
  if (!UUID.test(options.id)) throw notFound(`Rollout "${options.id.slice(0, 40)}"`);
  const row = await options.db.policyRollout.findFirst({
    where: { id: options.id, tenantId: tenant.id },
    include: { steps: { orderBy: { id: "asc" } } },
  });
  if (!row) throw notFound(`Rollout ${options.id} of "${options.slug}"`);
  const { steps, ...rollout } = row;
  const base = await options.db.policyRevision.findUnique({
    where: { tenantId_version: { tenantId: tenant.id, version: rollout.baseVersion } },
  });
  const document = parsePolicyDocument(rollout.document);
  const view = toRolloutView(tenant.slug, rollout, steps);
  return {
    ...view,
    document,
    diff: diffDocuments(base ? parsePolicyDocument(base.document) : null, document),
    impact: view.open
      ? await previewStagedImpact({
          db: options.db,
          tenant,
          document,
          version: rollout.version,
          now: options.now,
          auditDb: options.auditDb,
        })
      : null,
  };
}
