import type { Metadata } from "next";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { SiemView } from "./siem-view";

export const metadata: Metadata = { title: "SIEM export" };

// GET /siem - where every gateway streams the audit trail (admin)
export default async function SiemPage() {
  const user = await requirePagePermission("siem.manage");
  if (!user) return <Forbidden what="managing SIEM export" />;
  return <SiemView />;
}
