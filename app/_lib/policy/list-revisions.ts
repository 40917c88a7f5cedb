/** A tenant's revisions, newest first; `before` pages back through long histories. */
import "server-only";
import type { Db, PrismaTypes } from "@/server/db/prisma";
import { findTenant } from "@/server/domain/tenants/find-tenant";

export interface RevisionSummary {
  version: number;
  author: string;
  comment: string | null;
  rollbackOf: number | null;
  createdAt: string;
  originCount: number;
  mode: string;
  /** The stage this version was published in (SPEC §5.2); null: saved as the active version directly. */
  stage: PrismaTypes.RolloutState | null;
  /** Where the rollout of this version stands now (promoted, aborted, …); null: it had none. */
  rolloutState: PrismaTypes.RolloutState | null;
}

export async function listRevisions(options: {
  db: Db;
  slug: string;
  before?: number;
  limit?: number;
}): Promise<{ revisions: RevisionSummary[]; nextBefore: number | null }> {
  const tenant = await findTenant(options);
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 500);
  // Summaries come from the JSON snapshot in SQL, so a 50k-entry allowlist is not shipped
  // to the dashboard once per revision just to be counted.
  const rows = await options.db.$queryRaw<
    Array<{
      version: number;
      author: string;
      comment: string | null;
      rollback_of: number | null;
      created_at: Date;
      origin_count: number;
      mode: string;
      stage: PrismaTypes.RolloutState | null;
      rollout_state: PrismaTypes.RolloutState | null;
    }>
  >`
    select version, author, comment, rollback_of, created_at,
           coalesce(jsonb_array_length(document->'origins'), 0)::int as origin_count,
           coalesce(document->>'mode', '') as mode,
           stage::text as stage,
           (select r.state::text from policy_rollout r
             where r.tenant_id = v.tenant_id and r.version = v.version limit 1) as rollout_state
      from policy_revision v
     where tenant_id = ${tenant.id}::uuid and version < ${options.before ?? 2147483647}
     order by version desc
     limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  return {
    revisions: page.map((r) => ({
      version: r.version,
      author: r.author,
      comment: r.comment,
      rollbackOf: r.rollback_of,
      createdAt: r.created_at.toISOString(),
      originCount: r.origin_count,
      mode: r.mode,
      stage: r.stage,
      rolloutState: r.rollout_state,
    })),
    nextBefore: rows.length > limit ? (page[page.length - 1]?.version ?? null) : null,
  };
}
