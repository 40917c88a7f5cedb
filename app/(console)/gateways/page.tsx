import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import type { Metadata } from "next";
import { getQueryClient } from "@/app/_client/get-query-client";
import { fleetQuery } from "@/app/_client/queries";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { getPrisma } from "@/app/_lib/db";
import { getFleet } from "@/app/_lib/gateways/get-fleet";
import { GatewaysView } from "./gateways-view";

export const metadata: Metadata = { title: "Gateways" };

// GET /gateways - the fleet: instances, heartbeats, per-tenant enforced version and drift (viewer+)
export default async function GatewaysPage() {
  const user = await requirePagePermission("gateways.read");
  if (!user) return <Forbidden what="viewing gateways" />;
  const queryClient = getQueryClient();
  await queryClient.prefetchQuery({ ...fleetQuery(), queryFn: () => getFleet({ db: getPrisma() }) });
  return (
    <HydrationBoundary state={dehydrate(queryClient)}>
      <GatewaysView />
    </HydrationBoundary>
  );
}
