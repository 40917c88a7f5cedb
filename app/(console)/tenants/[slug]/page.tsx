import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { config } from "@/app/_lib/config";
import { getQueryClient } from "../../../_client/get-query-client";
import { policyQuery, tenantQuery } from "../../../_client/queries";
import { Forbidden } from "../../../_components/status";
import { requirePagePermission } from "../../../_lib/auth/page-auth";
import { getPrisma } from "../../../_lib/db";
import { getPolicy } from "../../../_lib/policy/get-policy";
import { getTenant } from "../../../_lib/tenants/get-tenant";
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
