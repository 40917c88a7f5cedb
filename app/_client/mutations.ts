/**
 * What a mutation changes in the query cache, one definition per kind of change, so every
 * component that makes such a change refreshes exactly the same keys (array keys, exact
 * matches; never a string prefix).
 */
import type { QueryClient } from "@tanstack/react-query";
import { type AuditHistoryFilter, keys, type VersionedPolicyDocument } from "./queries";

/**
 * A new policy version was saved (editor save, rollback, "allow this origin"): the policy
 * itself — set from the response when the caller has it, else refetched — and what shows its
 * version: the tenant, its revisions, the tenant list.
 */
export async function policySaved(
  queryClient: QueryClient,
  slug: string,
  saved?: VersionedPolicyDocument,
): Promise<void> {
  if (saved) queryClient.setQueryData(keys.policy(slug), saved);
  await Promise.all([
    saved ? null : queryClient.invalidateQueries({ queryKey: keys.policy(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.revisions(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.tenant(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true }),
  ]);
}

/** A rollout opened or changed stage: the rollouts, and everything a promotion may have changed. */
export async function rolloutChanged(queryClient: QueryClient, slug: string): Promise<void> {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: keys.rollouts(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.policy(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.revisions(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.tenant(slug), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true }),
  ]);
}

/**
 * "Allow this origin" from an audit event saved a policy version, and the overview's "Top
 * rejected origins" (every tenant and window) now marks the origin as allowed.
 */
export async function originAllowed(queryClient: QueryClient, slug: string): Promise<void> {
  await Promise.all([policySaved(queryClient, slug), auditStatsChanged(queryClient)]);
}

/**
 * New events arrived on the live feed: the overview's statistics (every tenant and window);
 * and, given the explorer's filter when it follows "now", its page, facets and histogram.
 */
export async function auditEventsArrived(queryClient: QueryClient, explorer: AuditHistoryFilter | null): Promise<void> {
  await Promise.all([
    auditStatsChanged(queryClient),
    ...(explorer === null
      ? []
      : [
          queryClient.invalidateQueries({ queryKey: keys.auditHistory(explorer) }),
          queryClient.invalidateQueries({ queryKey: keys.auditFacetsAll() }),
          queryClient.invalidateQueries({ queryKey: keys.auditHistogramAll() }),
        ]),
  ]);
}

function auditStatsChanged(queryClient: QueryClient): Promise<void> {
  return queryClient.invalidateQueries({ queryKey: keys.auditStatsAll() });
}
