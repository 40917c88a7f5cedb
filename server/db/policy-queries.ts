/**
 * Reading policies with plain SQL — the gateway's hot reload path. The dashboard reads the
 * same rows through Prisma; both build the document with `joinPolicyDocument` (the one
 * definition in server/policy/document.ts), so the document a gateway enforces is exactly
 * the one the API returns.
 *
 * Stored form: the policy row's `settings` JSON holds every field but the allowlist; the
 * allowlist is `allowed_origin`, ordered by created_at then pattern.
 */

import {
  defaultPolicyDocument,
  joinPolicyDocument,
  type PolicyDocument,
  policyDocumentSchema,
} from "../policy/document";
import type { Queryable } from "./pg-listener";

export interface TenantPolicyRow {
  tenantId: string;
  slug: string;
  upstreamUrl: string | null;
  /** As stored: sealed with SECRETS_KEY (server/secrets/secret-box.ts), or legacy plaintext. */
  tokenSecret: string;
  /** The secret the last rotation replaced (sealed like tokenSecret) and the end of its overlap. */
  previousTokenSecret: string | null;
  previousTokenSecretUntil: Date | null;
  version: number;
  generation: number;
  updatedAt: Date;
  document: PolicyDocument;
  /** Set when the stored JSON does not fit the schema: `document` is then the default (refuse all). */
  invalid: string | null;
  /** The tenant's open staged version (shadow or canary), if any (SPEC §5.2). */
  staged: StagedPolicyRow | null;
}

/** A staged version as gateways apply it: shadow (decide and record) or canary (enforce for some). */
export interface StagedPolicyRow {
  rolloutId: string;
  version: number;
  stage: "shadow" | "canary";
  document: PolicyDocument;
  /** Canary: gateways carrying one of these labels enforce it for everyone ... */
  canaryLabels: string[];
  /** ... or, when set, this share (1-99) of client addresses on every gateway. */
  canaryPercent: number | null;
  /** Aborted by the gateway that sees more new refusals than this in a minute (null: no guard). */
  guardMaxNewRefusalsPerMinute: number | null;
}

/** Version stamp used to reconcile: any write to the policy bumps one of the two. */
export interface PolicyStamp {
  tenantId: string;
  version: number;
  generation: number;
}

const SELECT_POLICIES = `
  select t.id as tenant_id, t.slug, t.upstream_url, t.token_secret,
         t.previous_token_secret, t.previous_token_secret_until,
         p.version, p.generation, p.updated_at, p.settings,
         coalesce((select json_agg(json_build_object('pattern', o.pattern, 'note', o.note, 'expiresAt', o.expires_at)
                                   order by o.created_at, o.pattern)
                     from allowed_origin o where o.tenant_id = t.id), '[]'::json) as origins,
         r.id as rollout_id, r.version as staged_version, r.state::text as staged_stage, r.document as staged_document,
         r.canary_labels, r.canary_percent, r.guard_max_new_refusals_per_minute
    from tenant t join policy p on p.tenant_id = t.id
    left join policy_rollout r on r.tenant_id = t.id and r.state in ('shadow', 'canary')`;

interface RawRow {
  tenant_id: string;
  slug: string;
  upstream_url: string | null;
  token_secret: string;
  previous_token_secret: string | null;
  previous_token_secret_until: Date | null;
  version: number;
  generation: number;
  updated_at: Date;
  settings: unknown;
  origins: unknown[];
  rollout_id: string | null;
  staged_version: number | null;
  staged_stage: "shadow" | "canary" | null;
  staged_document: unknown;
  canary_labels: string[] | null;
  canary_percent: number | null;
  guard_max_new_refusals_per_minute: number | null;
}

/**
 * A row as the gateway enforces it. The stored JSON was validated when it was saved; if it
 * no longer fits the schema (a hand-written SQL change, say), the tenant gets the default
 * document, which refuses every browser (fail closed), and `invalid` says why — one bad
 * row never stops the other tenants from loading.
 */
function toRow(r: RawRow): TenantPolicyRow {
  let document: PolicyDocument;
  let invalid: string | null = null;
  try {
    document = joinPolicyDocument(r.settings, r.origins);
  } catch (error) {
    document = defaultPolicyDocument();
    invalid = error instanceof Error ? error.message.slice(0, 500) : "invalid stored policy";
  }
  return {
    tenantId: r.tenant_id,
    slug: r.slug,
    upstreamUrl: r.upstream_url,
    tokenSecret: r.token_secret,
    previousTokenSecret: r.previous_token_secret,
    previousTokenSecretUntil: r.previous_token_secret_until,
    version: r.version,
    generation: r.generation,
    updatedAt: r.updated_at,
    document,
    invalid,
    staged: toStaged(r),
  };
}

/**
 * The open staged version. One that does not fit the schema is left out (the active version
 * alone is enforced): a staged version is an experiment, and dropping it fails towards
 * the version everyone already agreed on.
 */
function toStaged(r: RawRow): StagedPolicyRow | null {
  if (!r.rollout_id || r.staged_version === null || !r.staged_stage) return null;
  const parsed = policyDocumentSchema.safeParse(r.staged_document);
  if (!parsed.success) return null;
  return {
    rolloutId: r.rollout_id,
    version: r.staged_version,
    stage: r.staged_stage,
    document: parsed.data,
    canaryLabels: r.canary_labels ?? [],
    canaryPercent: r.canary_percent,
    guardMaxNewRefusalsPerMinute: r.guard_max_new_refusals_per_minute,
  };
}

export async function loadAllPolicies(db: Queryable): Promise<TenantPolicyRow[]> {
  const { rows } = await db.query<RawRow>(SELECT_POLICIES);
  return rows.map(toRow);
}

/** One tenant's policy, or null when the tenant (or its policy) no longer exists. */
export async function loadPolicy(db: Queryable, tenantId: string): Promise<TenantPolicyRow | null> {
  const { rows } = await db.query<RawRow>(`${SELECT_POLICIES} where t.id = $1`, [tenantId]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function loadPolicyStamps(db: Queryable): Promise<PolicyStamp[]> {
  const { rows } = await db.query<{ tenant_id: string; version: number; generation: number }>(
    "select tenant_id, version, generation from policy",
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, version: r.version, generation: r.generation }));
}
