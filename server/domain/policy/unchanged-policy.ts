/**
 * "Nothing to save": savePolicy asks this, after the If-Match check, whether the tenant's
 * stored policy already equals the (validated, normalised) document. Equality is
 * diffDocuments' (every field of the one definition; allowlist entries matched by pattern,
 * so their order does not count: the server keeps first-saved order, policy files are
 * sorted). Then no revision is written: a PUT of the same document is idempotent, and a
 * `ctl policy:apply` of an unchanged file changes nothing.
 *
 * Cheap first: the settings column and the entry count decide most saves without reading
 * the allowlist; only a save that could be a no-op reads it, in one plain query (Prisma's
 * row mapping costs too much at 50,000 entries; see applyOrigins in save-policy.ts).
 */
import "server-only";
import type { Db } from "../../db/prisma";
import { diffDocuments, isEmptyDiff } from "../../policy/diff-documents";
import { type PolicyDocument, policySettings } from "../../policy/document";
import { toPolicyDocument } from "./document";

/** The stored document when it equals `document`, otherwise null. */
export async function unchangedPolicy(
  tx: Db,
  tenantId: string,
  document: PolicyDocument,
): Promise<PolicyDocument | null> {
  const policy = await tx.policy.findUnique({ where: { tenantId }, select: { settings: true } });
  if (!policy) return null;
  const settings = toPolicyDocument(policy, []);
  const settingsDiff = diffDocuments({ ...settings, origins: [] }, { ...policySettings(document), origins: [] });
  if (!isEmptyDiff(settingsDiff)) return null;
  if ((await tx.allowedOrigin.count({ where: { tenantId } })) !== document.origins.length) return null;
  const rows = await tx.$queryRaw<Array<{ pattern: string; note: string | null; expires_at: Date | null }>>`
    select pattern, note, expires_at from allowed_origin where tenant_id = ${tenantId}::uuid
     order by created_at, pattern`;
  const current = toPolicyDocument(
    policy,
    rows.map((r) => ({ pattern: r.pattern, note: r.note, expiresAt: r.expires_at })),
  );
  return isEmptyDiff(diffDocuments(current, document)) ? current : null;
}
