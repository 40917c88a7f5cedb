/**
 * What each rule kind finds right now (SQL over the audit trail, its summary tables and the
 * gateway heartbeats). Each returns the findings that hold at this moment; the evaluator opens
 * an alert for a new key and resolves the open ones whose key is gone.
 *
 * Reads are bounded: the current window is read from audit_event (minutes of rows, by the
 * (tenant, ts) / (ts) indexes); baselines come from the hourly and 5-minute summaries
 * (server/audit/summary.ts), never from a scan of days of events. Tester traffic is never a
 * rejection here: a tester run's own row (`kind = 'tester'`) is outside DECIDED_KINDS_SQL, and
 * the handshakes and requests the testers make to this gateway's tenants (`via = 'tester'`,
 * server/gateway/tester-mark.ts) are left out of the current window as the summaries leave
 * them out of the baselines (NOT_TESTER_SQL) — a scan is hundreds of refusals nobody has to act on.
 */
import { DECIDED_KINDS_SQL, NOT_TESTER_SQL } from "../db/audit-queries";
import type { AlertRuleParams, AlertRuleRow } from "./alert-rule";
import type { AlertFinding, Queryable } from "./raise-alert";

const MAX_FINDINGS = 50;

export async function rejectionSpikes(
  db: Queryable,
  rule: AlertRuleRow,
  p: AlertRuleParams["rejection_spike"],
): Promise<AlertFinding[]> {
  const { rows } = await db.query<{ tenant: string; current: string; baseline: string }>(
    `with cur as (
       select tenant, sum(count)::bigint as n from audit_event
        where ts >= now() - make_interval(mins => $1) and decision = 'rejected' and ${DECIDED_KINDS_SQL}
          and ${NOT_TESTER_SQL} and tenant is not null and ($2::text is null or tenant = $2)
        group by tenant having sum(count) >= $3
     )
     select cur.tenant, cur.n::text as current,
            coalesce((select sum(c.count) from audit_count c
                       where not c.all_tenants and c.tenant = cur.tenant and c.decision = 'rejected'
                         and c.kind in ('handshake', 'http', 'preflight')
                         and c.bucket >= now() - make_interval(mins => $1) - make_interval(hours => $4)
                         and c.bucket < date_bin('5 minutes', now() - make_interval(mins => $1), 'epoch')), 0)::text as baseline
       from cur order by cur.n desc limit ${MAX_FINDINGS}`,
    [p.windowMinutes, rule.tenant, p.minCount, p.baselineHours],
  );
  const windowsInBaseline = (p.baselineHours * 60) / p.windowMinutes;
  return rows.flatMap((row) => {
    const current = Number(row.current);
    const baselinePerWindow = Number(row.baseline) / windowsInBaseline;
    if (current <= p.factor * baselinePerWindow) return [];
    return [
      {
        key: `spike:${row.tenant}`,
        tenant: row.tenant,
        summary: `${current} refusals for ${row.tenant} in the last ${p.windowMinutes} min (baseline ${baselinePerWindow.toFixed(1)} per ${p.windowMinutes} min over ${p.baselineHours} h)`,
        details: {
          windowMinutes: p.windowMinutes,
          current,
          baselinePerWindow: Math.round(baselinePerWindow * 100) / 100,
          baselineHours: p.baselineHours,
          factor: p.factor,
        },
      },
    ];
  });
}

export async function newRejectedOrigins(
  db: Queryable,
  rule: AlertRuleRow,
  p: AlertRuleParams["new_rejected_origin"],
): Promise<AlertFinding[]> {
  const { rows } = await db.query<{ tenant: string; origin: string; n: string; reasons: string[] }>(
    `with cur as (
       select tenant, coalesce(origin_normalized, origin, '(none)') as origin, sum(count)::bigint as n,
              array_agg(distinct coalesce(reason, '')) as reasons
         from audit_event
        where ts >= now() - make_interval(mins => $1) and decision = 'rejected' and ${DECIDED_KINDS_SQL}
          and ${NOT_TESTER_SQL} and tenant is not null and ($2::text is null or tenant = $2)
        group by 1, 2 having sum(count) >= $3
     )
     select tenant, origin, n::text as n, reasons from cur
      where not exists (
        select 1 from audit_rejected_origin r
         where r.tenant = cur.tenant and r.origin = cur.origin
           and r.bucket >= now() - make_interval(days => $4)
           and r.bucket < date_bin('1 hour', now() - make_interval(mins => $1), 'epoch'))
      order by cur.n desc limit ${MAX_FINDINGS}`,
    [p.windowMinutes, rule.tenant, p.minCount, p.baselineDays],
  );
  return rows.map((row) => ({
    key: `origin:${row.tenant}:${row.origin}`,
    tenant: row.tenant,
    summary: `${row.origin} newly refused for ${row.tenant}: ${row.n} time(s) in the last ${p.windowMinutes} min, never in the ${p.baselineDays} days before (${row.reasons.join(", ")})`,
    details: { origin: row.origin, count: Number(row.n), reasons: row.reasons, baselineDays: p.baselineDays },
  }));
}

export async function staleGateways(
  db: Queryable,
  rule: AlertRuleRow,
  p: AlertRuleParams["gateway_stale"],
): Promise<AlertFinding[]> {
  const stale = await db.query<{ id: string; host: string; lastHeartbeatAt: Date; age: number }>(
    `select id, host, last_heartbeat_at as "lastHeartbeatAt", extract(epoch from now() - last_heartbeat_at)::int as age
       from gateway_instance
      where stopped_at is null and last_heartbeat_at < now() - make_interval(secs => $1)
        and last_heartbeat_at > now() - interval '1 day'
      order by id limit ${MAX_FINDINGS}`,
    [p.staleAfterSeconds],
  );
  // Behind = not in sync: the negation of `enforcesLatest` (app/_lib/gateways/list-gateways.ts),
  // the one "in sync" rule; a missing version counts as 0 (saved versions start at 1).
  // A gateway still loading its policies (status `starting`: its first heartbeat goes out
  // before the load) enforces nothing yet and is not behind; its next beat says what it enforces.
  const behind = await db.query<{ id: string; slug: string; enforced: number | null; version: number }>(
    `select g.id, t.slug, (g.enforced_versions ->> t.slug)::int as enforced, p.version
       from gateway_instance g cross join tenant t join policy p on p.tenant_id = t.id
      where g.stopped_at is null and g.last_heartbeat_at >= now() - make_interval(secs => $1)
        and g.status is distinct from 'starting'
        and ($2::text is null or t.slug = $2)
        and p.updated_at < now() - make_interval(secs => $3)
        and coalesce((g.enforced_versions ->> t.slug)::int, 0) < p.version
      order by g.id, t.slug limit ${MAX_FINDINGS}`,
    [p.staleAfterSeconds, rule.tenant, p.behindAfterSeconds],
  );
  return [
    ...stale.rows.map((g) => ({
      key: `stale:${g.id}`,
      tenant: null,
      summary: `Gateway ${g.id} (${g.host}) has not reported for ${g.age} s`,
      details: { gatewayId: g.id, host: g.host, lastHeartbeatAt: g.lastHeartbeatAt.toISOString(), ageSeconds: g.age },
    })),
    ...behind.rows.map((b) => ({
      key: `behind:${b.id}:${b.slug}`,
      tenant: b.slug,
      summary: `Gateway ${b.id} enforces ${b.enforced === null ? "no version" : `version ${b.enforced}`} of ${b.slug}; the saved version is ${b.version}`,
      details: { gatewayId: b.id, enforcedVersion: b.enforced, savedVersion: b.version },
    })),
  ];
}

export async function unhealthyAudit(
  db: Queryable,
  _rule: AlertRuleRow,
  p: AlertRuleParams["audit_unhealthy"],
): Promise<AlertFinding[]> {
  const status = await db.query<{ id: string; auditStatus: string }>(
    `select id, audit_status as "auditStatus" from gateway_instance
      where stopped_at is null and audit_status <> 'ok' and last_heartbeat_at >= now() - interval '5 minutes'
      order by id limit ${MAX_FINDINGS}`,
  );
  const dropped = await db.query<{ gatewayId: string; n: string }>(
    `select gateway_id as "gatewayId", sum(count)::text as n from audit_event
      where kind = 'dropped' and ts >= now() - make_interval(mins => $1)
      group by gateway_id order by gateway_id limit ${MAX_FINDINGS}`,
    [p.windowMinutes],
  );
  return [
    ...status.rows.map((g) => ({
      key: `audit:${g.id}`,
      tenant: null,
      summary: `The audit trail of gateway ${g.id} is ${g.auditStatus}`,
      details: { gatewayId: g.id, status: g.auditStatus },
    })),
    ...dropped.rows.map((d) => ({
      key: `dropped:${d.gatewayId}`,
      tenant: null,
      summary: `Gateway ${d.gatewayId} dropped ${d.n} audit event(s) in the last ${p.windowMinutes} min`,
      details: { gatewayId: d.gatewayId, dropped: Number(d.n), windowMinutes: p.windowMinutes },
    })),
  ];
}

/**
 * Tester scans with findings recorded after the rule's cursor (one alert each); moves the
 * cursor. Audit batches commit in id order (server/audit/pipeline.ts), so no scan is skipped.
 */
export async function testerFindings(db: Queryable, rule: AlertRuleRow): Promise<AlertFinding[]> {
  let cursor = rule.cursor;
  if (cursor === null) cursor = await currentAuditId(db);
  const { rows } = await db.query<{ id: string; tenant: string | null; reason: string; details: TesterDetails }>(
    `select id::text as id, tenant, reason, details from audit_event
      where kind = 'tester' and id > $1 and ts >= now() - interval '1 day'
        and reason in ('tester_scan', 'tester_cors_scan') and ($2::text is null or tenant = $2)
      order by id limit 200`,
    [cursor, rule.tenant],
  );
  const last = rows.at(-1)?.id ?? cursor;
  await db.query("update alert_rule set cursor = $2 where id = $1", [rule.id, last]);
  return rows.flatMap((row) => {
    const findings = Number(row.details?.outcome?.findings ?? 0);
    if (!(findings > 0)) return [];
    const scan = row.reason === "tester_cors_scan" ? "CORS scan" : "scan";
    const target = row.details?.target?.url ?? row.tenant ?? "a target";
    return [
      {
        key: `scan:${row.id}`,
        tenant: row.tenant,
        summary: `A tester ${scan} of ${target} found ${findings} accepted variant(s)${row.details?.by?.name ? ` (run by ${row.details.by.name})` : ""}`,
        details: {
          auditId: row.id,
          runId: row.details?.runId ?? null,
          findings,
          findingOrigins: row.details?.outcome?.findingOrigins ?? [],
        },
      },
    ];
  });
}

interface TesterDetails {
  runId?: string;
  by?: { name?: string };
  target?: { url?: string };
  outcome?: { findings?: number; findingOrigins?: string[] };
}

/** The newest audit id (the starting cursor of a new tester_finding rule). */
export async function currentAuditId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string }>("select coalesce(max(id), 0)::text as id from audit_event");
  return rows[0]?.id ?? "0";
}
