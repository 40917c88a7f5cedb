/**
 * "Nothing to save": savePolicy asks this, after the If-Match check, whether the tenant's
 * stored policy already equals the (validated, normalised) document. Equality is
 * diffDocuments' (every field of the one definition; allowlist entries matched by pattern,
 * so their order does not count: the server keeps first-saved order, policy files are
 * sorted). Then no revision is written: a PUT of the same document is idempotent, and a
 * `ctl policy:apply` of an unchanged file changes nothing.
 *
 * Cheap first: the settings column and the entry count decide most saves without reading
 * the allowlist; only a save that could be a no-op reads it.
 */

import { diffDocuments, isEmptyDiff } from "../../../server/policy/diff-documents";
import { type PolicyDocument, policySettings } from "../../../server/policy/document";
import type { Db } from "../db";
import { ORIGIN_ORDER, toPolicyDocument } from "./document";

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
  const origins = await tx.allowedOrigin.findMany({
    where: { tenantId },
    orderBy: ORIGIN_ORDER,
    select: { pattern: true, note: true, expiresAt: true },
  });
  const current = toPolicyDocument(policy, origins);
  return isEmptyDiff(diffDocuments(current, document)) ? current : null;
}
