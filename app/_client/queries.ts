/**
 * queryOptions factories, one per entity, with array keys. Mutations invalidate exactly
 * the keys they change (see ./mutations helpers in the components), never by string prefix.
 */
import { queryOptions } from "@tanstack/react-query";
import type { Role } from "../_lib/auth/permissions";
import type { Fleet } from "../_lib/gateways/get-fleet";
import type { VersionedPolicyDocument } from "../_lib/policy/document";
import type { RevisionDetail } from "../_lib/policy/get-revision";
import type { RevisionSummary } from "../_lib/policy/list-revisions";
import type { TenantDetail } from "../_lib/tenants/get-tenant";
import type { TenantSummary } from "../_lib/tenants/list-tenants";
import type { ApiTokenView } from "../_lib/tokens/create-api-token";
import type { UserView } from "../_lib/users/create-user";
import { api } from "./api-client";

export const keys = {
  tenants: () => ["tenants", "list"] as const,
  tenant: (slug: string) => ["tenants", "detail", slug] as const,
  policy: (slug: string) => ["tenants", "policy", slug] as const,
  revisions: (slug: string) => ["tenants", "revisions", slug] as const,
  revision: (slug: string, version: number, against: number | null) =>
    ["tenants", "revision", slug, version, against] as const,
  fleet: () => ["fleet"] as const,
  users: () => ["users"] as const,
  tokens: () => ["tokens"] as const,
};

const enc = encodeURIComponent;

export const tenantsQuery = () =>
  queryOptions({
    queryKey: keys.tenants(),
    queryFn: ({ signal }) => api<TenantSummary[]>("/api/v1/tenants", { signal }),
    // Gateway sync converges within a heartbeat or two: keep the badges current.
    refetchInterval: 10_000,
  });

export const tenantQuery = (slug: string) =>
  queryOptions({
    queryKey: keys.tenant(slug),
    queryFn: ({ signal }) => api<TenantDetail>(`/api/v1/tenants/${enc(slug)}`, { signal }),
    refetchInterval: 10_000,
  });

export const policyQuery = (slug: string) =>
  queryOptions({
    queryKey: keys.policy(slug),
    queryFn: ({ signal }) => api<VersionedPolicyDocument>(`/api/v1/tenants/${enc(slug)}/policy`, { signal }),
    // Notice versions saved elsewhere (the editor follows them while nothing is unsaved).
    refetchInterval: 60_000,
  });

export const revisionsQuery = (slug: string) =>
  queryOptions({
    queryKey: keys.revisions(slug),
    queryFn: ({ signal }) =>
      api<{ revisions: RevisionSummary[]; nextBefore: number | null }>(
        `/api/v1/tenants/${enc(slug)}/revisions?limit=500`,
        { signal },
      ),
  });

export const revisionQuery = (slug: string, version: number, against: number | null) =>
  queryOptions({
    queryKey: keys.revision(slug, version, against),
    queryFn: ({ signal }) =>
      api<RevisionDetail>(
        `/api/v1/tenants/${enc(slug)}/revisions/${version}${against === null ? "" : `?against=${against}`}`,
        { signal },
      ),
    // A revision never changes once written.
    staleTime: Number.POSITIVE_INFINITY,
  });

export const fleetQuery = () =>
  queryOptions({
    queryKey: keys.fleet(),
    queryFn: ({ signal }) => api<Fleet>("/api/v1/fleet", { signal }),
    refetchInterval: 5_000,
  });

export const usersQuery = () =>
  queryOptions({ queryKey: keys.users(), queryFn: ({ signal }) => api<UserView[]>("/api/v1/users", { signal }) });

export const tokensQuery = () =>
  queryOptions({ queryKey: keys.tokens(), queryFn: ({ signal }) => api<ApiTokenView[]>("/api/v1/tokens", { signal }) });

export type {
  ApiTokenView,
  Fleet,
  RevisionDetail,
  RevisionSummary,
  Role,
  TenantDetail,
  TenantSummary,
  UserView,
  VersionedPolicyDocument,
};
