import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "../../_client/get-query-client";
import { tenantsQuery } from "../../_client/queries";
import { Forbidden } from "../../_components/status";
import { requirePagePermission } from "../../_lib/auth/page-auth";
import { getPrisma } from "../../_lib/db";
import { listTenants } from "../../_lib/tenants/list-tenants";
import { TenantsView } from "./tenants-view";

export const metadata: Metadata = { title: "Tenants" };

// GET /tenants - tenant list (viewer+), create (admin)
export default async function TenantsPage() {
  const user = await requirePagePermission("tenants.read");
  if (!user) return <Forbidden what="viewing tenants" />;
  const queryClient = getQueryClient();
  await queryClient.prefetchQuery({ ...tenantsQuery(), queryFn: () => listTenants({ db: getPrisma() }) });
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <TenantsView />
    </HydrationBoundary>
  );
}
