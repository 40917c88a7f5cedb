/**
 * "Top rejected origins" next to the allowlists as they are now: an origin refused for
 * `origin_not_allowed` in the window that the tenant's current policy allows (someone just
 * allowed it, from the audit page or the editor) is marked with the pattern that allows it,
 * so the list does not look like an open problem until the window forgets it.
 *
 * One policy read per tenant in the list (at most the list's length), compiled with the engine's
 * own matcher: the same answer the gateways give.
 */
import "server-only";
import { getPolicy } from "@/app/_lib/policy/get-policy";
import type { Db } from "@/server/db/prisma";
import { AppError } from "@/server/domain/errors";
import { compilePolicy } from "@/server/policy/compile-policy";
import type { PolicyDocument } from "@/server/policy/document";
import { parseOrigin } from "@/server/policy/parse-origin";
import type { AuditStats, RejectedOrigin } from "./get-audit-stats";

export type MarkedRejectedOrigin = RejectedOrigin & {
  /** The pattern of the current policy that allows this origin now; null when none does. */
  allowedBy: string | null;
};

export type MarkedAuditStats = Omit<AuditStats, "topRejected"> & { topRejected: MarkedRejectedOrigin[] };

export async function markAllowedOrigins(db: Db, stats: AuditStats, now = new Date()): Promise<MarkedAuditStats> {
  const matchers = new Map<string, ((origin: string) => string | null) | null>();
  const matcherOf = async (tenant: string) => {
    if (!matchers.has(tenant)) {
      try {
        const { version, ...document } = await getPolicy({ db, slug: tenant });
        const compiled = compilePolicy(document as PolicyDocument, now.getTime(), { version, tenant });
        matchers.set(tenant, (origin) => {
          const parsed = parseOrigin(origin);
          return parsed.kind === "origin" ? compiled.match(parsed, now.getTime()) : null;
        });
      } catch (error) {
        // A deleted tenant allows nothing.
        if (!(error instanceof AppError && error.code === "not_found")) throw error;
        matchers.set(tenant, null);
      }
    }
    return matchers.get(tenant) ?? null;
  };
  const topRejected: MarkedRejectedOrigin[] = [];
  for (const row of stats.topRejected) {
    const eligible = row.tenant !== null && row.reasons.includes("origin_not_allowed");
    const match = eligible ? await matcherOf(row.tenant as string) : null;
    topRejected.push({ ...row, allowedBy: match ? match(row.origin) : null });
  }
  return { ...stats, topRejected };
}
