/**
 * Opening and resolving alerts, and queueing their webhook deliveries, in SQL (pg): used by
 * the evaluator (evaluate-alerts.ts) and by any code that raises an event-like alert itself —
 * the staged-rollout guard calls
 *
 *   await raiseAlert(db, { kind: "rollout_guard_tripped", tenant: "acme", key: rolloutId,
 *                          summary: "Canary v12 of acme aborted: 240 new refusals/min", details });
 *
 * with a pool or with its own transaction's client (the alert then commits with the abort).
 *
 * Invariants: at most one open alert per (rule, key) — the partial unique index
 * `alert_open_rule_key`, inserts are `on conflict do nothing` — so a condition that holds is one
 * alert however many passes see it; every alert opened or resolved queues exactly one delivery
 * per webhook of its rule (the rule's webhooks, or every enabled webhook when it names none),
 * in the same statement sequence as the alert itself. Nothing here does network I/O: delivery
 * is deliver-alerts.ts's job.
 */
import type pg from "pg";
import { type AlertEvent, type AlertRecord, alertPayload } from "./alert-payload";
import { type AlertRuleKind, type AlertRuleRow, ONE_SHOT_KINDS } from "./alert-rule";

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** Something a rule found: one alert per distinct key. */
export interface AlertFinding {
  key: string;
  tenant: string | null;
  summary: string;
  details?: Record<string, unknown>;
}

const MAX_KEY = 500;
const MAX_SUMMARY = 1000;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const RETURNING = `id::text as id, rule_id as "ruleId", rule_name as "ruleName", kind, tenant, key, summary, details,
                   fired_at as "firedAt", resolved_at as "resolvedAt"`;

/**
 * Opens an alert for `finding` unless one is open for the same rule and key (a one-shot kind:
 * unless one was ever raised with that key); null when it was.
 */
export async function openAlert(
  db: Queryable,
  rule: Pick<AlertRuleRow, "id" | "name" | "kind" | "webhookIds">,
  finding: AlertFinding,
): Promise<AlertRecord | null> {
  const oneShot = ONE_SHOT_KINDS.has(rule.kind);
  const { rows } = await db.query<AlertRecord>(
    `insert into alert (rule_id, rule_name, kind, tenant, key, summary, details, resolved_at)
     select $1, $2, $3, $4, $5, $6, $7, case when $8::boolean then now() else null end
      where not ($8::boolean and exists (select 1 from alert where rule_id = $1 and key = $5))
     on conflict (rule_id, key) where resolved_at is null do nothing
     returning ${RETURNING}`,
    [
      rule.id,
      rule.name,
      rule.kind,
      finding.tenant,
      clip(finding.key, MAX_KEY),
      clip(finding.summary, MAX_SUMMARY),
      JSON.stringify(finding.details ?? {}),
      oneShot,
    ],
  );
  const alert = rows[0];
  if (!alert) return null;
  await enqueueDeliveries(db, rule.webhookIds, "firing", alert);
  return alert;
}

/** Resolves the rule's open alerts whose key is not in `stillFiring`; returns them. */
export async function resolveAlerts(
  db: Queryable,
  rule: Pick<AlertRuleRow, "id" | "webhookIds">,
  stillFiring: readonly string[],
): Promise<AlertRecord[]> {
  const { rows } = await db.query<AlertRecord>(
    `update alert set resolved_at = now()
      where rule_id = $1 and resolved_at is null and not (key = any($2::text[]))
      returning ${RETURNING}`,
    [rule.id, stillFiring.map((k) => clip(k, MAX_KEY))],
  );
  for (const alert of rows) await enqueueDeliveries(db, rule.webhookIds, "resolved", alert);
  return rows;
}

async function enqueueDeliveries(
  db: Queryable,
  webhookIds: readonly string[],
  event: AlertEvent,
  alert: AlertRecord,
): Promise<void> {
  await db.query(
    `insert into alert_delivery (webhook_id, alert_id, event, payload)
     select id, $2, $3, $4 from alert_webhook
      where enabled and (cardinality($1::uuid[]) = 0 or id = any($1::uuid[]))`,
    [webhookIds, alert.id, event, alertPayload(event, alert)],
  );
}

export interface RaiseAlertInput {
  kind: AlertRuleKind;
  /** The tenant's slug (or give tenantId); absent for a fleet-wide event. */
  tenant?: string | null;
  tenantId?: string;
  /** Identifies the occurrence (e.g. the rollout id): a second raise with the same key is
   *  ignored. Without one, every call is a new alert. */
  key?: string;
  summary: string;
  details?: Record<string, unknown>;
}

/**
 * Raises an alert of `kind` for every enabled rule of that kind that watches the tenant (rules
 * for this tenant, and rules for every tenant). Returns the alerts opened (none when no rule
 * asks for this kind).
 */
export async function raiseAlert(db: Queryable, input: RaiseAlertInput): Promise<AlertRecord[]> {
  let tenant = input.tenant ?? null;
  if (tenant === null && input.tenantId) {
    const { rows } = await db.query<{ slug: string }>("select slug from tenant where id = $1", [input.tenantId]);
    tenant = rows[0]?.slug ?? null;
  }
  const { rows: rules } = await db.query<AlertRuleRow>(
    `select id, name, kind, tenant, params, webhook_ids as "webhookIds", cursor::text as cursor from alert_rule
      where enabled and kind = $1 and (tenant is null or tenant = $2)`,
    [input.kind, tenant],
  );
  const key = input.key ?? `${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
  const opened: AlertRecord[] = [];
  for (const rule of rules) {
    const alert = await openAlert(db, rule, { key, tenant, summary: input.summary, details: input.details });
    if (alert) opened.push(alert);
  }
  return opened;
}
