/**
 * One revision with its full document and a diff. By default the diff is against the
 * previous revision (SPEC §10); `against` compares with any other revision instead.
 */
import "server-only";
import type { Db, PrismaTypes } from "@/server/db/prisma";
import { notFound } from "@/server/domain/errors";
import { diffDocuments, type PolicyDiff } from "@/server/domain/policy/diff-documents";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { type PolicyDocument, parsePolicyDocument } from "@/server/policy/document";

export interface RevisionDetail {
  version: number;
  author: string;
  comment: string | null;
  rollbackOf: number | null;
  /** The stage this version was published in (SPEC §5.2); null: saved as the active version directly. */
  stage: PrismaTypes.RolloutState | null;
  /** Where the rollout of this version stands now (promoted, aborted, …); null: it had none. */
  rolloutState: PrismaTypes.RolloutState | null;
  createdAt: string;
  document: PolicyDocument;
  /** The version this diff is computed against (null: this is the first revision). */
  diffAgainst: number | null;
  /** Changes from `diffAgainst` to this revision. */
  diff: PolicyDiff;
}

export async function getRevision(options: {
  db: Db;
  slug: string;
  version: number;
  against?: number;
}): Promise<RevisionDetail> {
  const tenant = await findTenant(options);
  const row = await options.db.policyRevision.findUnique({
    where: { tenantId_version: { tenantId: tenant.id, version: options.version } },
  });
  if (!row) throw notFound(`Revision ${options.version} of "${options.slug}"`);
  const base =
    options.against !== undefined
      ? await options.db.policyRevision.findUnique({
          where: { tenantId_version: { tenantId: tenant.id, version: options.against } },
        })
      : await options.db.policyRevision.findFirst({
          where: { tenantId: tenant.id, version: { lt: options.version } },
          orderBy: { version: "desc" },
        });
  if (options.against !== undefined && !base) throw notFound(`Revision ${options.against} of "${options.slug}"`);
  const rollout = row.stage
    ? await options.db.policyRollout.findFirst({
        where: { tenantId: tenant.id, version: row.version },
        select: { state: true },
      })
    : null;
  const document = parsePolicyDocument(row.document);
  return {
    version: row.version,
    author: row.author,
    comment: row.comment,
    rollbackOf: row.rollbackOf,
    stage: row.stage,
    rolloutState: rollout?.state ?? null,
    createdAt: row.createdAt.toISOString(),
    document,
    diffAgainst: base?.version ?? null,
    diff: diffDocuments(base ? parsePolicyDocument(base.document) : null, document),
  };
}
