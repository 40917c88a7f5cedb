import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "@/app/_client/get-query-client";
import {
  AUDIT_FILTER_FIELDS,
  AUDIT_PAGE_SIZE,
  type AuditHistoryFilter,
  auditHistoryQuery,
  auditStatsQuery,
  explorerFilter,
  tenantsQuery,
} from "@/app/_client/queries";
import { Forbidden } from "@/app/_components/status";
import { getAuditDb } from "@/app/_lib/audit/audit-db";
import { getAuditStats } from "@/app/_lib/audit/get-audit-stats";
import { markAllowedOrigins } from "@/app/_lib/audit/mark-allowed-origins";
import { searchAuditEvents } from "@/app/_lib/audit/search-audit-events";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { getPrisma } from "@/app/_lib/db";
import { listTenants } from "@/app/_lib/tenants/list-tenants";
import { AuditView } from "./audit-view";

export const metadata: Metadata = { title: "Audit" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /audit?tenant=&decision=&reason=&kind=&via=&remoteAddr=&userAgent=&path=&origin=&originContains=&originPrefix=&range=&since=&until=&sort= - live feed, explorer, overview, allow-origin (viewer+)
export default async function AuditPage({ searchParams }: Props) {
  const user = await requirePagePermission("audit.read");
  if (!user) return <Forbidden what="viewing the audit log" />;
  const params = await searchParams;
  const filter: AuditHistoryFilter = {};
  for (const field of AUDIT_FILTER_FIELDS) {
    const value = params[field];
    if (typeof value === "string") filter[field] = value;
  }
  // No time bounds in the URL: the default range (last 24 hours), as the client applies it.
  const initialFilter = explorerFilter(filter);
  const queryClient = getQueryClient();
  const db = getAuditDb();
  // A filter the API refuses (422) is not prefetched: the client view shows the error.
  await Promise.all([
    queryClient.prefetchQuery({ ...tenantsQuery(), queryFn: () => listTenants({ db: getPrisma() }) }),
    queryClient.prefetchQuery({
      ...auditStatsQuery(initialFilter.tenant ?? null, "hour"),
      queryFn: async () =>
        markAllowedOrigins(getPrisma(), await getAuditStats({ db, tenant: initialFilter.tenant, window: "hour" })),
    }),
    queryClient.prefetchInfiniteQuery({
      ...auditHistoryQuery(initialFilter),
      queryFn: ({ pageParam }) =>
        searchAuditEvents({ db, query: { ...initialFilter, cursor: pageParam ?? undefined, limit: AUDIT_PAGE_SIZE } }),
    }),
  ]);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <AuditView initialFilter={initialFilter} />
    </HydrationBoundary>
  );
}
