import type { Metadata } from "next";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { AlertsView } from "./alerts-view";

export const metadata: Metadata = { title: "Alerts" };

// GET /alerts - alert rules, webhooks, raised alerts and the delivery log (admin)
export default async function AlertsPage() {
  const user = await requirePagePermission("alerts.manage");
  if (!user) return <Forbidden what="managing alerts" />;
  return <AlertsView />;
}
