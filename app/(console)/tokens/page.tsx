import type { Metadata } from "next";
import { Forbidden } from "@/app/_components/status";
import { requirePagePermission } from "@/app/_lib/auth/page-auth";
import { config } from "@/server/config";
import { TokensView } from "./tokens-view";

export const metadata: Metadata = { title: "API tokens" };

// GET /tokens - API tokens for automation (admin)
export default async function TokensPage() {
  const user = await requirePagePermission("tokens.manage");
  if (!user) return <Forbidden what="managing API tokens" />;
  const { API_TOKEN_DEFAULT_DAYS, API_TOKEN_MAX_DAYS } = config();
  return <TokensView defaultDays={API_TOKEN_DEFAULT_DAYS} maxDays={API_TOKEN_MAX_DAYS} />;
}
