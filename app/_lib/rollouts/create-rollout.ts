/**
 * createRollout: publishes a version as `shadow` or `canary` (SPEC §5.2) — a new document
 * (validated like any save) or an earlier revision (`version`) — under the next version
 * number, with a revision marked with its stage. The active version is untouched: `GET
 * .../policy` keeps returning it.
 *
 * Two-person rule: on a tenant that requires approval a canary waits in `pending_approval`
 * (leaving draft for canary needs a second person); a shadow never does (nobody is
 * refused by it). Refused while another rollout is open (409 rollout_in_progress) and for
 * a tenant managed by code, whoever asks (409 managed_by_code: only `ctl policy:apply`
 * changes such a tenant).
 */
import "server-only";
import type { PrismaClient } from "@/server/db/prisma";
import type { Actor } from "@/server/domain/activity/record-activity";
import { AppError, notFound } from "@/server/domain/errors";
import { assertPolicyWritable } from "@/server/domain/policy/assert-policy-writable";
import {
  checkPolicyDocument,
  MAX_COMMENT_LENGTH,
  nextVersion,
  type PolicyWarning,
} from "@/server/domain/policy/save-policy";
import { assertNoOpenRollout } from "@/server/domain/rollouts/assert-no-open-rollout";
import { openRolloutInTx } from "@/server/domain/rollouts/open-rollout";
import { describeCanary, type RolloutView } from "@/server/domain/rollouts/rollout-view";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { parsePolicyDocument } from "@/server/policy/document";
import type { CreateRolloutInput } from "./rollout-input";

export async function createRollout(options: {
  db: PrismaClient;
  slug: string;
  input: CreateRolloutInput;
  actor: Actor;
  now?: Date;
}): Promise<{ rollout: RolloutView; warnings: PolicyWarning[] }> {
  const now = options.now ?? new Date();
  const { input } = options;
  const comment = input.comment?.trim() ? input.comment.trim().slice(0, MAX_COMMENT_LENGTH) : null;
  return options.db.$transaction(
    async (tx) => {
      const tenant = await findTenant({ db: tx, slug: options.slug });
      await assertPolicyWritable(tx, tenant, options.actor);
      const locked = await tx.$queryRaw<Array<{ version: number }>>`
        select version from policy where tenant_id = ${tenant.id}::uuid for update`;
      const currentVersion = locked[0]?.version;
      if (currentVersion === undefined) throw new AppError("not_found", `Tenant "${options.slug}" has no policy`);
      await assertNoOpenRollout(tx, tenant);
      let source: unknown = input.document;
      if (input.version !== undefined) {
        const revision = await tx.policyRevision.findUnique({
          where: { tenantId_version: { tenantId: tenant.id, version: input.version } },
        });
        if (!revision) throw notFound(`Revision ${input.version} of "${options.slug}"`);
        source = parsePolicyDocument(revision.document);
      }
      const { document, warnings } = checkPolicyDocument(source, now);
      const version = await nextVersion(tx, tenant.id, currentVersion);
      const canary =
        input.stage === "canary"
          ? { labels: input.canary?.labels ?? [], percent: input.canary?.percent ?? null }
          : null;
      const waits = input.stage === "canary" && tenant.requireApproval;
      const how = canary ? describeCanary(canary) : "";
      const rollout = await openRolloutInTx(tx, {
        tenant,
        document,
        version,
        baseVersion: currentVersion,
        state: waits ? "pending_approval" : input.stage,
        requestedState: waits ? "canary" : null,
        canary,
        guard: input.guard ?? null,
        actor: options.actor,
        comment,
        now,
        activity: {
          action: "rollout.create",
          summary: waits
            ? `Requested approval to publish version ${version} as a canary (${how})${comment ? `: ${comment}` : ""}`
            : `Published version ${version} as ${input.stage === "shadow" ? "shadow" : `canary (${how})`}${comment ? `: ${comment}` : ""}`,
        },
      });
      return { rollout, warnings };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
}
