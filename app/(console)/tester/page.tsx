import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "@/app/_client/get-query-client";
import { tenantsQuery } from "@/app/_client/queries";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { getPrisma } from "@/app/_lib/db";
import { listTenants } from "@/app/_lib/tenants/list-tenants";
import { TesterView } from "./tester-view";

export const metadata: Metadata = { title: "Handshake tester" };

// GET /tester - real handshakes and bypass scans from the gateway (editor+); endpoint registration (admin)
export default async function TesterPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[]>>;
}) {
  const user = await requirePagePermission("tester.run");
  if (!user) return <Forbidden what="running the handshake tester" />;
  const params = await searchParams;
  const tenant = typeof params.tenant === "string" ? params.tenant : null;
  const queryClient = getQueryClient();
  await queryClient.prefetchQuery({ ...tenantsQuery(), queryFn: () => listTenants({ db: getPrisma() }) });
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <TesterView initialTenant={tenant} />
    </HydrationBoundary>
  );
}
