import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "@/app/_client/get-query-client";
import { tenantsQuery } from "@/app/_client/queries";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { getPrisma } from "@/app/_lib/db";
import { listTenants } from "@/app/_lib/tenants/list-tenants";
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
