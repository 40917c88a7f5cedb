/**
 * Rollback: a NEW revision whose document is an earlier revision's (history is never
 * rewritten). Goes through savePolicy, so the old document is re-validated with today's
 * rules (a pattern that is now refused makes the rollback a 422, nothing saved).
 */
import "server-only";
import type { PrismaClient } from "@/server/db/prisma";
import { notFound } from "@/server/domain/errors";
import { type Actor, type SavePolicyResult, savePolicy } from "@/server/domain/policy/save-policy";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { parsePolicyDocument } from "@/server/policy/document";

export async function rollbackPolicy(options: {
  db: PrismaClient;
  slug: string;
  toVersion: number;
  /** If-Match when given; otherwise the rollback applies to whatever version is current. */
  expectedVersion?: number;
  actor: Actor;
  comment?: string | null;
}): Promise<SavePolicyResult> {
  const tenant = await findTenant(options);
  const revision = await options.db.policyRevision.findUnique({
    where: { tenantId_version: { tenantId: tenant.id, version: options.toVersion } },
  });
  if (!revision) throw notFound(`Revision ${options.toVersion} of "${options.slug}"`);
  return savePolicy({
    db: options.db,
    slug: options.slug,
    expectedVersion: options.expectedVersion ?? "current",
    document: parsePolicyDocument(revision.document),
    actor: options.actor,
    comment: options.comment?.trim() ? options.comment : `Rollback to version ${options.toVersion}`,
    rollbackOf: options.toVersion,
    activity: {
      action: "policy.rollback",
      summary: `Rolled the policy back to version ${options.toVersion}${options.comment?.trim() ? `: ${options.comment.trim()}` : ""}`,
    },
  });
}
