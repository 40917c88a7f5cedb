import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "@/app/_client/get-query-client";
import { policyQuery, tenantQuery } from "@/app/_client/queries";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { getPrisma } from "@/app/_lib/db";
import { getPolicy } from "@/app/_lib/policy/get-policy";
import { getTenant } from "@/app/_lib/tenants/get-tenant";
import { config } from "@/server/config";
import { TenantView } from "./tenant-view";

type Props = { params: Promise<{ slug: string }>; searchParams: Promise<{ tab?: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: (await params).slug };
}

// GET /tenants/<slug> - allowlist and credential policy editors, history, settings (viewer+ reads, editor edits)
export default async function TenantPage({ params, searchParams }: Props) {
  const user = await requirePagePermission("policy.read");
  if (!user) return <Forbidden what="viewing policies" />;
  const { slug } = await params;
  const { tab } = await searchParams;
  const queryClient = getQueryClient();
  const db = getPrisma();
  // A missing tenant is shown by the client view (404 state), not thrown here.
  await Promise.all([
    queryClient.prefetchQuery({ ...tenantQuery(slug), queryFn: () => getTenant({ db, slug }) }),
    queryClient.prefetchQuery({ ...policyQuery(slug), queryFn: () => getPolicy({ db, slug }) }),
  ]);
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <TenantView slug={slug} initialTab={tab} gatewayUrl={config().gatewayPublicUrl} />
    </HydrationBoundary>
  );
}
