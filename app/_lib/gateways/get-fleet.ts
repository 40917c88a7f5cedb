/**
 * The fleet view: every gateway instance seen recently (live or not), each tenant's latest
 * policy version, and the drift of every live gateway against it. For an API token limited to
 * one tenant (`tenant`), only that tenant (list-gateways.ts).
 */
import "server-only";
import type { Db } from "@/server/db/prisma";
import {
  computeDrift,
  type GatewayDrift,
  type GatewayView,
  latestTenantVersions,
  listGateways,
  liveWindowMs,
  type TenantVersion,
} from "./list-gateways";

export interface Fleet {
  checkedAt: string;
  liveWindowMs: number;
  gateways: Array<GatewayView & { drift: GatewayDrift[]; behind: number }>;
  tenants: TenantVersion[];
}

/** Stopped or silent instances older than this are not shown (their rows stay). */
const SHOW_DEAD_FOR_MS = 24 * 60 * 60 * 1000;

export async function getFleet(options: { db: Db; tenant?: string | null }): Promise<Fleet> {
  const tenant = options.tenant ?? null;
  const [{ gateways, checkedAt }, tenants] = await Promise.all([
    listGateways({ db: options.db, includeStale: true, tenant }),
    latestTenantVersions(options.db, tenant),
  ]);
  const now = new Date(checkedAt).getTime();
  const shown = gateways.filter((g) => g.live || now - new Date(g.lastHeartbeatAt).getTime() < SHOW_DEAD_FOR_MS);
  return {
    checkedAt,
    liveWindowMs: liveWindowMs(),
    tenants,
    gateways: shown.map((g) => {
      const drift = g.live ? computeDrift(g, tenants) : [];
      return { ...g, drift, behind: drift.filter((d) => !d.inSync).length };
    }),
  };
}
