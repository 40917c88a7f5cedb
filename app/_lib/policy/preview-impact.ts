/**
 * previewImpact: what a draft would change for the traffic the tenant actually had (SPEC §5.2,
 * `POST /api/v1/tenants/<slug>/policy/impact`). The draft is validated by the same rules as
 * a save (422 when invalid, nothing else happens); the distinct handshakes of the window come
 * from the audit rollup (server/db/impact-queries.ts) and are decided by the gateway's engine
 * under the draft and under the active version (server/policy/replay-impact.ts).
 * Writes nothing.
 */
import "server-only";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import type { Queryable } from "@/server/db/audit-queries";
import { readReplayGroups } from "@/server/db/impact-queries";
import type { Db } from "@/server/db/prisma";
import { validationError } from "@/server/domain/errors";
import { checkPolicyDocument, readPolicy } from "@/server/domain/policy/save-policy";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { compileForReplay, type ImpactResult, ReplayProbes, replayGroups } from "@/server/policy";
import type { PolicyDocument } from "@/server/policy/document";
import { DEFAULT_IMPACT_DAYS, MAX_WINDOW_DAYS } from "./impact-input";

const DAY_MS = 86_400_000;

export interface ImpactPreview extends ImpactResult {
  since: string;
  until: string;
  /** The active version the draft was compared with. */
  activeVersion: number;
}

export async function previewImpact(options: {
  db: Db;
  slug: string;
  document: unknown;
  since?: string;
  now?: Date;
  /** Where the audit rollup is read (default: the dashboard's audit pool). */
  auditDb?: Queryable;
}): Promise<ImpactPreview> {
  const now = options.now ?? new Date();
  const since = options.since ? new Date(options.since) : new Date(now.getTime() - DEFAULT_IMPACT_DAYS * DAY_MS);
  if (since.getTime() >= now.getTime()) {
    throw validationError("The window is empty", [{ path: "since", message: "must be in the past" }]);
  }
  if (now.getTime() - since.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
    throw validationError("The window is too long", [
      { path: "since", message: `must be within the last ${MAX_WINDOW_DAYS} days` },
    ]);
  }
  // The same validation as a save (a `version` field is tolerated there too).
  const { document: draft } = checkPolicyDocument(options.document, now);
  const tenant = await findTenant({ db: options.db, slug: options.slug });
  return replayAgainstActive({ db: options.db, tenant, draft, since, now, auditDb: options.auditDb });
}

/**
 * The impact of a document that is already validated (a staged version, a pending change)
 * against the tenant's active version, over the default window (SPEC §5.2): the same replay
 * as the save bar's preview, so an approver sees the figures the author saw.
 */
export async function previewStagedImpact(options: {
  db: Db;
  tenant: { id: string; slug: string };
  document: PolicyDocument;
  version: number;
  now?: Date;
  auditDb?: Queryable;
}): Promise<ImpactPreview> {
  const now = options.now ?? new Date();
  return replayAgainstActive({
    ...options,
    draft: options.document,
    draftVersion: options.version,
    since: new Date(now.getTime() - DEFAULT_IMPACT_DAYS * DAY_MS),
    now,
  });
}

async function replayAgainstActive(options: {
  db: Db;
  tenant: { id: string; slug: string };
  draft: PolicyDocument;
  draftVersion?: number;
  since: Date;
  now: Date;
  auditDb?: Queryable;
}): Promise<ImpactPreview> {
  const { tenant, now } = options;
  const active = await readPolicy(options.db, tenant.id);
  const at = now.getTime();
  const probes = new ReplayProbes(
    compileForReplay(active.document, { version: active.version, tenant: tenant.slug, now: at }),
    compileForReplay(options.draft, {
      version: options.draftVersion ?? active.version + 1,
      tenant: tenant.slug,
      now: at,
    }),
    at,
  );
  // The six counts only for origins some version admits past the origin check; totals for the rest.
  const window = await readReplayGroups(options.auditDb ?? getAuditDb(), {
    tenant: tenant.slug,
    since: options.since,
    until: now,
    needsCounts: (origin) => !probes.decidedByOrigin(origin),
  });
  const result = replayGroups(probes, window.groups);
  return {
    since: window.since.toISOString(),
    until: window.until.toISOString(),
    activeVersion: active.version,
    ...result,
  };
}
