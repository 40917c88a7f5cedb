/**
 * The gateway fleet from `gateway_instance` rows. A gateway is live when its last heartbeat
 * is within 3 x HEARTBEAT_INTERVAL_MS (database clock, so dashboard and database clocks
 * need not agree) and it has not recorded a graceful stop.
 *
 * For each gateway and tenant, `drift` says whether it enforces the tenant's latest policy
 * version; when it does not, `behindSince` is when that latest version was saved (the
 * moment from which this gateway has been stale).
 *
 * `tenant` narrows the view for an API token limited to one tenant: the instances are shown
 * (where the fleet runs is not a tenant's secret), but each one's enforced versions only for
 * that tenant; the other tenants' names never appear.
 */
import "server-only";
import { z } from "zod";
import { config } from "@/server/config";
import type { Db } from "@/server/db/prisma";

export interface GatewayView {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  lastHeartbeatAt: string;
  stoppedAt: string | null;
  status: string;
  live: boolean;
  /** { <slug>: <version> } as the gateway reported it. */
  enforcedVersions: Record<string, number>;
  /**
   * Staged versions this gateway applies (SPEC §5.2): shadow everywhere; a canary where its
   * labels match (every client) or by `percent` of client addresses.
   */
  stagedVersions: Record<string, StagedVersion>;
  /** GATEWAY_LABELS of this gateway. */
  labels: string[];
}

export interface StagedVersion {
  version: number;
  stage: "shadow" | "canary";
  /** Canary by share of client addresses (absent: every client of this gateway). */
  percent?: number;
}

export interface TenantVersion {
  slug: string;
  version: number;
  updatedAt: string;
}

export interface GatewayDrift {
  gatewayId: string;
  slug: string;
  enforced: number | null;
  latest: number;
  inSync: boolean;
  behindSince: string | null;
}

const enforcedSchema = z.record(z.string(), z.number().int());
const stagedSchema = z.record(
  z.string(),
  z.object({ version: z.number().int(), stage: z.enum(["shadow", "canary"]), percent: z.number().int().optional() }),
);

export function liveWindowMs(): number {
  return 3 * config().HEARTBEAT_INTERVAL_MS;
}

export async function listGateways(options: { db: Db; includeStale?: boolean; tenant?: string | null }): Promise<{
  gateways: GatewayView[];
  checkedAt: string;
}> {
  const window = liveWindowMs();
  const rows = await options.db.$queryRaw<
    Array<{
      id: string;
      host: string;
      pid: number;
      started_at: Date;
      last_heartbeat_at: Date;
      stopped_at: Date | null;
      status: string;
      enforced_versions: unknown;
      staged_versions: unknown;
      labels: string[] | null;
      live: boolean;
      now: Date;
    }>
  >`
    select id, host, pid, started_at, last_heartbeat_at, stopped_at, status, enforced_versions, staged_versions, labels,
           (stopped_at is null and last_heartbeat_at > now() - make_interval(secs => ${window / 1000})) as live,
           now() as now
      from gateway_instance
     order by started_at desc, id`;
  const checkedAt = (rows[0]?.now ?? new Date()).toISOString();
  const gateways = rows
    .filter((r) => options.includeStale || r.live)
    .map((r) => {
      const parsed = enforcedSchema.safeParse(r.enforced_versions);
      const staged = stagedSchema.safeParse(r.staged_versions);
      return {
        id: r.id,
        host: r.host,
        pid: r.pid,
        startedAt: r.started_at.toISOString(),
        lastHeartbeatAt: r.last_heartbeat_at.toISOString(),
        stoppedAt: r.stopped_at?.toISOString() ?? null,
        status: r.status,
        live: r.live,
        enforcedVersions: onlyTenant(parsed.success ? parsed.data : {}, options.tenant ?? null),
        stagedVersions: onlyTenant(staged.success ? staged.data : {}, options.tenant ?? null),
        labels: r.labels ?? [],
      };
    });
  return { gateways, checkedAt };
}

function onlyTenant<T>(versions: Record<string, T>, tenant: string | null): Record<string, T> {
  if (tenant === null) return versions;
  return tenant in versions ? { [tenant]: versions[tenant] as T } : {};
}

export async function latestTenantVersions(db: Db, tenant: string | null = null): Promise<TenantVersion[]> {
  const rows = await db.policy.findMany({
    ...(tenant === null ? {} : { where: { tenant: { slug: tenant } } }),
    select: { version: true, updatedAt: true, tenant: { select: { slug: true } } },
    orderBy: { tenant: { slug: "asc" } },
  });
  return rows.map((r) => ({ slug: r.tenant.slug, version: r.version, updatedAt: r.updatedAt.toISOString() }));
}

/**
 * The "in sync" rule: a gateway is in sync for a tenant when it enforces the tenant's latest
 * saved version or a newer one (it may already have loaded a save this read did not see).
 * A gateway that reports no version for the tenant is not in sync. The `gateway_stale` alert
 * (`server/alerts/alert-conditions.ts`) states the negation of this rule in SQL.
 */
export function enforcesLatest(gateway: GatewayView, tenant: TenantVersion): boolean {
  const enforced = gateway.enforcedVersions[tenant.slug];
  return enforced !== undefined && enforced >= tenant.version;
}

export function computeDrift(gateway: GatewayView, tenants: readonly TenantVersion[]): GatewayDrift[] {
  return tenants.map((t) => {
    const enforced = gateway.enforcedVersions[t.slug] ?? null;
    const inSync = enforcesLatest(gateway, t);
    return {
      gatewayId: gateway.id,
      slug: t.slug,
      enforced,
      latest: t.version,
      inSync,
      behindSince: inSync ? null : t.updatedAt,
    };
  });
}

/** Per tenant: how many live gateways enforce its latest version. */
export function syncByTenant(
  gateways: readonly GatewayView[],
  tenants: readonly TenantVersion[],
): Map<string, { live: number; inSync: number }> {
  const live = gateways.filter((g) => g.live);
  const out = new Map<string, { live: number; inSync: number }>();
  for (const t of tenants) {
    const inSync = live.filter((g) => enforcesLatest(g, t)).length;
    out.set(t.slug, { live: live.length, inSync });
  }
  return out;
}
