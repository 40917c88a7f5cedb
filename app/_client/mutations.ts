/**
 * What a mutation changes in the query cache, one definition per kind of change, so every
 * component that makes such a change refreshes exactly the same keys (array keys, exact
 * matches; never a string prefix).
 */
import type { QueryClient } from "@tanstack/react-query";
import { keys, type VersionedPolicyDocument } from "./queries";

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
