/**
 * queryOptions factories, one per entity, and the one key factory (`keys`), with array keys.
 * Mutations invalidate exactly the keys they change (./mutations.ts), never by string prefix;
 * where every variant of a query is stale (e.g. the audit statistics of every tenant and
 * window), by the array prefix `keys` names for it (`…All`).
 */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import type { ActivityPage } from "@/app/_lib/activity/list-activity";
import type { AlertDeliveryView, AlertView } from "@/app/_lib/alerts/alert-log";
import type { AlertRuleView } from "@/app/_lib/alerts/alert-rules";
import type { AlertWebhookView } from "@/app/_lib/alerts/alert-webhooks";
import type { AuditWindow } from "@/app/_lib/audit/audit-filter-input";
import type { SavedView } from "@/app/_lib/audit/audit-saved-views";
import type { ShadowSummary } from "@/app/_lib/audit/get-shadow-summary";
import type {
  MarkedAuditStats as AuditStats,
  MarkedRejectedOrigin as RejectedOriginRow,
} from "@/app/_lib/audit/mark-allowed-origins";
import type { AuditPage } from "@/app/_lib/audit/search-audit-events";
import type { SessionView } from "@/app/_lib/auth/user-sessions";
import type { Fleet } from "@/app/_lib/gateways/get-fleet";
import type { EntryUsageReport } from "@/app/_lib/policy/get-entry-usage";
import type { RevisionDetail } from "@/app/_lib/policy/get-revision";
import type { RevisionSummary } from "@/app/_lib/policy/list-revisions";
import type { ImpactPreview } from "@/app/_lib/policy/preview-impact";
import type { RolloutDetail } from "@/app/_lib/rollouts/list-rollouts";
import type { SiemDestinationView } from "@/app/_lib/siem/list-siem-destinations";
import type { TenantDetail } from "@/app/_lib/tenants/get-tenant";
import type { TenantSummary } from "@/app/_lib/tenants/list-tenants";
import type { AuditFacets, AuditHistogram } from "@/server/db/audit-explore";
import { AUDIT_FIELDS } from "@/server/db/audit-fields";
import type { AuditEvent } from "@/server/db/audit-queries";
import type { Role } from "@/server/domain/auth/permissions";
import type { VersionedPolicyDocument } from "@/server/domain/policy/document";
import type { RolloutView } from "@/server/domain/rollouts/rollout-view";
import type { ApiTokenView } from "@/server/domain/tokens/create-api-token";
import type { UserView } from "@/server/domain/users/create-user";
import type { PolicyDocument } from "@/server/policy/browser";
import { api } from "./api-client";

export const keys = {
  tenants: () => ["tenants", "list"] as const,
  tenant: (slug: string) => ["tenants", "detail", slug] as const,
  policy: (slug: string) => ["tenants", "policy", slug] as const,
  revisions: (slug: string) => ["tenants", "revisions", slug] as const,
  /** The impact of a draft (the draft itself is part of the key: each edit is its own preview). */
  impact: (slug: string, baseVersion: number, draft: PolicyDocument) =>
    ["tenants", "impact", slug, baseVersion, draft] as const,
  entryUsage: (slug: string, days: number) => ["tenants", "entry-usage", slug, days] as const,
  revision: (slug: string, version: number, against: number | null) =>
    ["tenants", "revision", slug, version, against] as const,
  fleet: () => ["fleet"] as const,
  users: () => ["users"] as const,
  tokens: () => ["tokens"] as const,
  siemDestinations: () => ["siem-destinations"] as const,
  endpoints: (slug: string) => ["tenants", "endpoints", slug] as const,
  auditHistory: (filter: AuditHistoryFilter) => ["audit", "history", auditFilterKey(filter)] as const,
  auditStats: (tenant: string | null, window: AuditWindow, includeTester = false) =>
    ["audit", "stats", tenant, window, includeTester] as const,
  /** Prefix of every auditStats key. */
  auditStatsAll: () => ["audit", "stats"] as const,
  auditFacets: (filter: AuditHistoryFilter) => ["audit", "facets", auditFilterKey(filter)] as const,
  /** Prefix of every auditFacets key. */
  auditFacetsAll: () => ["audit", "facets"] as const,
  auditHistogram: (filter: AuditHistoryFilter) => ["audit", "histogram", auditFilterKey(filter)] as const,
  /** Prefix of every auditHistogram key. */
  auditHistogramAll: () => ["audit", "histogram"] as const,
  auditViews: () => ["audit", "views"] as const,
  sessions: () => ["me", "sessions"] as const,
  rollouts: (slug: string) => ["tenants", "rollouts", slug] as const,
  rollout: (slug: string, id: string) => ["tenants", "rollout", slug, id] as const,
  shadowSummary: (slug: string, version: number) => ["audit", "shadow", slug, version] as const,
  activity: (filter: ActivityFilter) => ["activity", activityFilterKey(filter)] as const,
  alertWebhooks: () => ["alert-webhooks"] as const,
  alertRules: () => ["alert-rules"] as const,
  alerts: () => ["alerts"] as const,
  alertDeliveries: () => ["alert-deliveries"] as const,
};

/** The activity log's filters (empty = no filter). */
export interface ActivityFilter {
  actor?: string;
  action?: string;
  target?: string;
}

export const ACTIVITY_FILTER_FIELDS = ["actor", "action", "target"] as const;

export function activityFilterKey(filter: ActivityFilter): ActivityFilter {
  const out: ActivityFilter = {};
  for (const field of ACTIVITY_FILTER_FIELDS) {
    const value = filter[field]?.trim();
    if (value) out[field] = value;
  }
  return out;
}

export const ACTIVITY_PAGE_SIZE = 50;

export const activityQuery = (filter: ActivityFilter) =>
  infiniteQueryOptions({
    queryKey: keys.activity(filter),
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ ...activityFilterKey(filter), limit: String(ACTIVITY_PAGE_SIZE) });
      if (pageParam) params.set("cursor", pageParam);
      return api<ActivityPage>(`/api/v1/activity?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });

export const rolloutsQuery = (slug: string) =>
  queryOptions({
    queryKey: keys.rollouts(slug),
    queryFn: ({ signal }) =>
      api<{ rollouts: RolloutView[]; requireApproval: boolean }>(
        `/api/v1/tenants/${encodeURIComponent(slug)}/rollouts`,
        { signal },
      ),
    // A guard may abort a rollout by itself: keep the panel current.
    refetchInterval: 5000,
  });

export const rolloutQuery = (slug: string, id: string) =>
  queryOptions({
    queryKey: keys.rollout(slug, id),
    queryFn: ({ signal }) =>
      api<RolloutDetail>(`/api/v1/tenants/${encodeURIComponent(slug)}/rollouts/${encodeURIComponent(id)}`, { signal }),
  });

export const shadowSummaryQuery = (slug: string, version: number) =>
  queryOptions({
    queryKey: keys.shadowSummary(slug, version),
    queryFn: ({ signal }) =>
      api<ShadowSummary>(`/api/v1/audit/shadow?tenant=${encodeURIComponent(slug)}&version=${version}`, { signal }),
    refetchInterval: 5000,
  });

export const sessionsQuery = () =>
  queryOptions({
    queryKey: keys.sessions(),
    queryFn: ({ signal }) => api<{ sessions: SessionView[] }>("/api/v1/me/sessions", { signal }),
  });

/**
 * The audit explorer's state as the API and the page URL take it (empty = no filter): the
 * filterable fields of server/db/audit-fields.ts, the origin filters, time and sort.
 */
export const AUDIT_FILTER_FIELDS = [
  ...AUDIT_FIELDS.map((f) => f.param),
  "origin",
  "originContains",
  "originPrefix",
  /** `differs`: only events where a shadow version decided differently. */
  "shadow",
  "range",
  "since",
  "until",
  "sort",
] as const;

export type AuditHistoryFilter = Partial<Record<(typeof AUDIT_FILTER_FIELDS)[number], string>>;

/** The explorer's default time range when the URL names none. */
export const DEFAULT_AUDIT_RANGE = "24h";

/** The filter as the explorer applies it: normalized, with the default range when it has no time bounds. */
export function explorerFilter(filter: AuditHistoryFilter): AuditHistoryFilter {
  const key = auditFilterKey(filter);
  return key.range || key.since || key.until ? key : auditFilterKey({ ...key, range: DEFAULT_AUDIT_RANGE });
}

/** The filter without empty fields, in a fixed field order: equal filters give equal keys. */
export function auditFilterKey(filter: AuditHistoryFilter): AuditHistoryFilter {
  const out: AuditHistoryFilter = {};
  for (const field of AUDIT_FILTER_FIELDS) {
    const value = filter[field]?.trim();
    if (value) out[field] = value;
  }
  return out;
}

/** Query string of the audit API for a filter (plus cursor, limit, format...). */
export function auditSearchParams(filter: AuditHistoryFilter, extra: Record<string, string | null> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...auditFilterKey(filter), ...extra })) {
    if (value) params.set(key, value);
  }
  return params.toString();
}

export const AUDIT_PAGE_SIZE = 50;

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

/** What a draft would newly refuse and admit over the last 7 days (POST .../policy/impact; writes nothing). */
export const impactQuery = (slug: string, baseVersion: number, draft: PolicyDocument) =>
  queryOptions({
    queryKey: keys.impact(slug, baseVersion, draft),
    queryFn: ({ signal }) =>
      api<ImpactPreview>(`/api/v1/tenants/${enc(slug)}/policy/impact`, {
        method: "POST",
        body: { document: draft },
        signal,
      }),
    staleTime: 30_000,
  });

/** Each allowlist entry's matches and last match; unused ones flagged. */
export const entryUsageQuery = (slug: string, days: number) =>
  queryOptions({
    queryKey: keys.entryUsage(slug, days),
    queryFn: ({ signal }) =>
      api<EntryUsageReport>(`/api/v1/tenants/${enc(slug)}/policy/usage?days=${days}`, { signal }),
    staleTime: 30_000,
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

export const siemDestinationsQuery = () =>
  queryOptions({
    queryKey: keys.siemDestinations(),
    queryFn: ({ signal }) => api<SiemDestinationView[]>("/api/v1/siem-destinations", { signal }),
  });

export const auditHistoryQuery = (filter: AuditHistoryFilter) =>
  infiniteQueryOptions({
    queryKey: keys.auditHistory(filter),
    queryFn: ({ pageParam, signal }) =>
      api<AuditPage>(
        `/api/v1/audit?${auditSearchParams(filter, { cursor: pageParam, limit: String(AUDIT_PAGE_SIZE) })}`,
        {
          signal,
        },
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });

/** Facet counts of a filter (the page, sort and time-independent keys dropped). */
export const auditFacetsQuery = (filter: AuditHistoryFilter) => {
  const { sort: _sort, ...rest } = auditFilterKey(filter);
  return queryOptions({
    queryKey: keys.auditFacets(rest),
    queryFn: ({ signal }) => api<AuditFacets>(`/api/v1/audit/facets?${auditSearchParams(rest)}`, { signal }),
  });
};

export const auditHistogramQuery = (filter: AuditHistoryFilter) => {
  const { sort: _sort, ...rest } = auditFilterKey(filter);
  return queryOptions({
    queryKey: keys.auditHistogram(rest),
    queryFn: ({ signal }) => api<AuditHistogram>(`/api/v1/audit/histogram?${auditSearchParams(rest)}`, { signal }),
  });
};

export const auditViewsQuery = () =>
  queryOptions({
    queryKey: keys.auditViews(),
    queryFn: ({ signal }) => api<SavedView[]>("/api/v1/audit/views", { signal }),
  });

/** The overview's statistics; the tester's own handshakes only with `includeTester`. */
export const auditStatsQuery = (tenant: string | null, window: AuditWindow, includeTester = false) =>
  queryOptions({
    queryKey: keys.auditStats(tenant, window, includeTester),
    queryFn: ({ signal }) =>
      api<AuditStats>(
        `/api/v1/audit/stats?${new URLSearchParams({ window, ...(tenant ? { tenant } : {}), ...(includeTester ? { tester: "include" } : {}) })}`,
        { signal },
      ),
    refetchInterval: window === "hour" ? 15_000 : 60_000,
  });

export const alertWebhooksQuery = () =>
  queryOptions({
    queryKey: keys.alertWebhooks(),
    queryFn: ({ signal }) => api<AlertWebhookView[]>("/api/v1/alert-webhooks", { signal }),
  });

export const alertRulesQuery = () =>
  queryOptions({
    queryKey: keys.alertRules(),
    queryFn: ({ signal }) => api<AlertRuleView[]>("/api/v1/alert-rules", { signal }),
  });

/** The 20 most recent alerts. */
export const alertsQuery = () =>
  queryOptions({
    queryKey: keys.alerts(),
    queryFn: ({ signal }) => api<{ alerts: AlertView[] }>("/api/v1/alerts?limit=20", { signal }),
    refetchInterval: 5000,
  });

/** The 50 most recent delivery attempts. */
export const alertDeliveriesQuery = () =>
  queryOptions({
    queryKey: keys.alertDeliveries(),
    queryFn: ({ signal }) => api<{ deliveries: AlertDeliveryView[] }>("/api/v1/alert-deliveries?limit=50", { signal }),
    refetchInterval: 3000,
  });

export type {
  ApiTokenView,
  AuditEvent,
  AuditFacets,
  AuditHistogram,
  AuditPage,
  AuditStats,
  AuditWindow,
  Fleet,
  RejectedOriginRow,
  RevisionDetail,
  RevisionSummary,
  Role,
  SavedView,
  TenantDetail,
  TenantSummary,
  UserView,
  VersionedPolicyDocument,
};
