/**
 * "Allow this origin" (`POST /api/v1/audit/<id>/allow`): adds the exact origin a rejected
 * handshake came from to its tenant's allowlist, as a new policy revision through
 * savePolicy (one transaction, validation, optimistic concurrency, NOTIFY at commit).
 *
 * Guards, in order (each a typed AppError):
 *  - the event exists (404) and is a handshake refused — or, in report-only mode, flagged —
 *    for `origin_not_allowed` with a well-formed origin and a tenant: anything else is a 422
 *    that says why allowing the origin would not help (e.g. `credentials_forbidden`: the
 *    origin had passed, its cookies had not);
 *  - the tenant still exists (404);
 *  - the current policy does not already allow the origin, by any live pattern
 *    (409 already_allowed naming the pattern); an exact entry that expired is a 409
 *    conflict pointing to the allowlist editor (renewing is a different decision);
 *  - `expectedVersion`, when given, is the version the user saw: stale → savePolicy's 409
 *    version_conflict. Without it the current version is used, and a save that loses a race
 *    with another editor is simply retried on the new version (at most 3 times).
 *
 * The new entry is the exact canonical origin (never a wildcard) with the note
 * `allowed from audit event #<id>`; the revision comment is
 * `Allow <origin> from audit event #<id>`.
 */
import "server-only";
import { getPolicy } from "@/app/_lib/policy/get-policy";
import { auditEventById, type Queryable } from "@/server/db/audit-queries";
import type { PrismaClient } from "@/server/db/prisma";
import { AppError, notFound, validationError } from "@/server/domain/errors";
import { type Actor, type PolicyWarning, savePolicy } from "@/server/domain/policy/save-policy";
import type { RolloutView } from "@/server/domain/rollouts/rollout-view";
import { compilePolicy } from "@/server/policy/compile-policy";
import type { PolicyDocument } from "@/server/policy/document";
import { parseOrigin } from "@/server/policy/parse-origin";
import { REASON_DESCRIPTIONS, REASONS, type Reason } from "@/server/policy/reasons";

const MAX_ATTEMPTS = 3;
/** Reasons decided after the origin check passed (server/policy/decide-handshake.ts order). */
const AFTER_ORIGIN_CHECK = new Set([
  "credentials_forbidden",
  "token_missing",
  "token_invalid",
  "subprotocol_not_allowed",
]);
const MAX_BIGINT = 9_223_372_036_854_775_807n;

export interface AllowOriginResult {
  /** The tenant requires approval: nothing saved yet, this rollout waits for a second person (202). */
  pending?: RolloutView;
  eventId: string;
  tenant: string;
  origin: string;
  /** The new policy version (the revision that added the origin). */
  version: number;
  previousVersion: number;
  note: string;
  comment: string;
  warnings: PolicyWarning[];
}

interface EventFacts {
  kind: string;
  /** Null on a `dropped` row (refused above: not a handshake). */
  decision: string | null;
  reason: string | null;
  tenant: string | null;
  origin: string | null;
  originNormalized: string | null;
}

export async function allowAuditOrigin(options: {
  db: PrismaClient;
  /** The audit read path (app/_lib/audit/audit-db.ts), like every other audit read. */
  auditDb: Queryable;
  eventId: string;
  expectedVersion?: number;
  actor: Actor;
  now?: Date;
  /** An API token's tenant scope: an event of another tenant is refused (403 out_of_scope). */
  tenant?: string | null;
}): Promise<AllowOriginResult> {
  const id = eventIdParam(options.eventId);
  const event = await auditEventById(options.auditDb, id);
  if (!event) throw notFound(`Audit event #${options.eventId}`);
  if (options.tenant && event.tenant !== options.tenant) {
    throw new AppError(
      "out_of_scope",
      `This API token is limited to tenant ${options.tenant}; audit event #${options.eventId} belongs to another tenant`,
    );
  }
  const { tenant, origin } = allowable(event, options.eventId);

  const note = `allowed from audit event #${options.eventId}`;
  const comment = `Allow ${origin} from audit event #${options.eventId}`;
  for (let attempt = 1; ; attempt++) {
    const now = options.now ?? new Date();
    const current = await currentPolicy(options.db, tenant);
    const { version, ...document } = current;
    const matched = compilePolicy(document as PolicyDocument, now.getTime(), { version, tenant }).match(
      parseOrigin(origin) as Extract<ReturnType<typeof parseOrigin>, { kind: "origin" }>,
      now.getTime(),
    );
    if (matched !== null) {
      throw new AppError(
        "already_allowed",
        matched === origin
          ? `${origin} is already on the allowlist of ${tenant} (version ${version}); nothing was changed`
          : `${origin} is already allowed for ${tenant} by the pattern ${matched} (version ${version}); nothing was changed`,
        { details: { tenant, origin, pattern: matched, version } },
      );
    }
    const existing = document.origins.find((o) => o.pattern === origin);
    if (existing) {
      throw new AppError(
        "conflict",
        `The allowlist of ${tenant} has an entry for ${origin} that expired${existing.expiresAt ? ` at ${existing.expiresAt}` : ""}; renew it in the allowlist editor instead`,
        { details: { tenant, origin, expiresAt: existing.expiresAt, version } },
      );
    }
    try {
      const saved = await savePolicy({
        db: options.db,
        slug: tenant,
        expectedVersion: options.expectedVersion ?? version,
        document: { ...document, origins: [...document.origins, { pattern: origin, note, expiresAt: null }] },
        actor: options.actor,
        comment,
        now: options.now,
        activity: { action: "policy.allow_origin", summary: `${comment}` },
      });
      return {
        eventId: options.eventId,
        tenant,
        origin,
        // Approval required: nothing saved yet; the rollout waits for a second person.
        ...(saved.pending ? { pending: saved.pending } : {}),
        version: saved.policy.version,
        previousVersion: saved.policy.version - 1,
        note,
        comment,
        warnings: saved.warnings,
      };
    } catch (error) {
      const lostRace =
        error instanceof AppError && error.code === "version_conflict" && options.expectedVersion === undefined;
      if (!lostRace || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

function eventIdParam(value: string): bigint {
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > MAX_BIGINT) throw notFound(`Audit event "${value.slice(0, 20)}"`);
  return BigInt(value);
}

async function currentPolicy(db: PrismaClient, tenant: string) {
  try {
    return await getPolicy({ db, slug: tenant });
  } catch (error) {
    if (error instanceof AppError && error.code === "not_found") {
      throw new AppError(
        "not_found",
        `Tenant "${tenant}" no longer exists, so there is no allowlist to add the origin to`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** The tenant and canonical origin to allow, or a 422 saying why allowing would not help. */
function allowable(event: EventFacts, eventId: string): { tenant: string; origin: string } {
  const refuse = (message: string) =>
    validationError(`Audit event #${eventId} cannot be allowed: ${message}`, [{ path: "event", message }]);
  // HTTP requests and preflights are judged by the same allowlist as handshakes.
  if (event.kind !== "handshake" && event.kind !== "http" && event.kind !== "preflight") {
    throw refuse(`it is a ${event.kind} event, not a handshake or request decision`);
  }
  if (event.decision === "accepted" || event.reason === "allowed") {
    throw refuse("the handshake passed the policy; there is nothing to allow");
  }
  if (event.reason !== "origin_not_allowed") throw refuse(whyNotOrigin(event));
  const origin = event.originNormalized;
  const parsed = origin === null ? null : parseOrigin(origin);
  if (origin === null || parsed?.kind !== "origin" || parsed.origin !== origin) {
    throw refuse("it has no well-formed origin to add");
  }
  if (!event.tenant) throw refuse("it names no tenant");
  return { tenant: event.tenant, origin };
}

function whyNotOrigin(event: EventFacts): string {
  const reason = event.reason ?? "no reason";
  switch (reason) {
    case "origin_missing":
      return "it was refused because it sent no Origin header, so there is no origin to allow (clients without one are governed by the tenant's missing-Origin setting)";
    case "origin_null":
      return 'it was refused for the opaque "null" origin, which every sandboxed iframe and file:// page shares; add the null pattern in the allowlist editor only if you really mean it';
    case "origin_malformed":
      return "its Origin header was malformed, and no allowlist entry can match a malformed origin";
    case "tenant_unknown":
      return "it named a tenant that did not exist";
    default: {
      const known = (REASONS as readonly string[]).includes(reason);
      const description = known ? ` (${REASON_DESCRIPTIONS[reason as Reason].replace(/\.$/, "")})` : "";
      // decideHandshake checks the origin first: a later check failing means it had passed.
      const passed = AFTER_ORIGIN_CHECK.has(reason) && event.originNormalized;
      return `it was refused for ${reason}${description}, not for its origin${passed ? ` (${event.originNormalized} had passed the allowlist)` : ""}; allowing the origin would not change that`;
    }
  }
}
