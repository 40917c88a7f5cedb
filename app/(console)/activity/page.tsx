import type { Metadata } from "next";
import { ACTIVITY_FILTER_FIELDS, type ActivityFilter } from "@/app/_client/queries";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { ActivityView } from "./activity-view";

export const metadata: Metadata = { title: "Activity" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /activity?actor=&action=&target= - the admin activity log: who changed what, and every sign-in (admin)
export default async function ActivityPage({ searchParams }: Props) {
  const user = await requirePagePermission("activity.read");
  if (!user) return <Forbidden what="reading the activity log" />;
  const params = await searchParams;
  const filter: ActivityFilter = {};
  for (const field of ACTIVITY_FILTER_FIELDS) {
    const value = params[field];
    if (typeof value === "string" && value.trim() !== "") filter[field] = value.trim().slice(0, 320);
  }
  return <ActivityView initialFilter={filter} />;
}
