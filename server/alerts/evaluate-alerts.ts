/**
 * The alert evaluator (SPEC §5.2): checks every enabled rule, opens an alert for each new
 * finding and resolves the open ones whose condition is gone, then sends the due webhook
 * deliveries.
 *
 * One process at a time in the whole fleet evaluates: a pass takes a session advisory lock
 * (pg_try_advisory_lock, like audit partition upkeep, server/audit/partitions.ts); a process
 * that does not get it skips the rules (someone else is evaluating) but still sends due
 * deliveries (claimed row by row, deliver-alerts.ts). Every gateway runs an AlertKeeper; with
 * several, whichever holds the lock at that moment evaluates, so a dead gateway cannot stop
 * the alerts about itself while another one lives.
 *
 * A rule that fails (bad params in the row, a query error) is reported in the pass and
 * skipped; the others go on. Alerts of rules that were disabled or removed are closed
 * without a message.
 */
import type pg from "pg";
import type { Logger } from "../log";
import { onRolloutGuardTripped } from "../rollout/guard-tripped";
import { newRejectedOrigins, rejectionSpikes, staleGateways, testerFindings, unhealthyAudit } from "./alert-conditions";
import { type AlertRuleRow, parseAlertRuleParams } from "./alert-rule";
import { type DeliverOptions, deliverDueAlerts } from "./deliver-alerts";
import { type AlertFinding, openAlert, type Queryable, raiseAlert, resolveAlerts } from "./raise-alert";

/** Arbitrary constant: the advisory lock of alert evaluation (distinct from the audit ones). */
export const ALERT_EVALUATOR_LOCK_KEY = 0x0a0d1a;
export const DEFAULT_EVALUATE_INTERVAL_MS = 15_000;

export interface EvaluationPass {
  /** False when another process holds the lock. */
  ran: boolean;
  opened: number;
  resolved: number;
  errors: string[];
}

async function findings(db: Queryable, rule: AlertRuleRow): Promise<AlertFinding[] | null> {
  switch (rule.kind) {
    case "rejection_spike":
      return rejectionSpikes(db, rule, parseAlertRuleParams(rule.kind, rule.params));
    case "new_rejected_origin":
      return newRejectedOrigins(db, rule, parseAlertRuleParams(rule.kind, rule.params));
    case "gateway_stale":
      return staleGateways(db, rule, parseAlertRuleParams(rule.kind, rule.params));
    case "audit_unhealthy":
      return unhealthyAudit(db, rule, parseAlertRuleParams(rule.kind, rule.params));
    case "tester_finding":
      return testerFindings(db, rule);
    case "rollout_guard_tripped":
      return null; // raised by the rollout guard (raiseAlert), nothing to evaluate
  }
}

export async function evaluateAlerts(options: { pool: pg.Pool; logger?: Logger }): Promise<EvaluationPass> {
  const pass: EvaluationPass = { ran: false, opened: 0, resolved: 0, errors: [] };
  const client = await options.pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [
      ALERT_EVALUATOR_LOCK_KEY,
    ]);
    if (!rows[0]?.locked) return pass;
    pass.ran = true;
    try {
      const { rows: rules } = await client.query<AlertRuleRow>(
        `select id, name, kind, tenant, params, webhook_ids as "webhookIds", cursor::text as cursor
           from alert_rule where enabled order by created_at, id`,
      );
      for (const rule of rules) {
        try {
          const found = await findings(client, rule);
          if (found === null) continue;
          for (const finding of found) if (await openAlert(client, rule, finding)) pass.opened += 1;
          if (rule.kind !== "tester_finding") {
            pass.resolved += (
              await resolveAlerts(
                client,
                rule,
                found.map((f) => f.key),
              )
            ).length;
          }
        } catch (error) {
          pass.errors.push(`rule ${rule.name}: ${(error as Error).message}`);
        }
      }
      await client.query(
        `update alert set resolved_at = now()
          where resolved_at is null and rule_id not in (select id from alert_rule where enabled)`,
      );
    } finally {
      await client.query("select pg_advisory_unlock($1)", [ALERT_EVALUATOR_LOCK_KEY]).catch((error: Error) => {
        broken = error; // a session that cannot unlock must not go back to the pool
      });
    }
    if (pass.opened + pass.resolved + pass.errors.length > 0) {
      options.logger?.info(
        { opened: pass.opened, resolved: pass.resolved, errors: pass.errors },
        "alert rules evaluated",
      );
    }
    return pass;
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs an evaluation and a delivery round at start and every `intervalMs`; deliveries are also
 * checked every `deliverIntervalMs` (retries come sooner than the next evaluation). Never two
 * rounds at once in one process; failures are logged, never thrown.
 */
export class AlertKeeper {
  private timers: NodeJS.Timeout[] = [];
  private unsubscribeGuard: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private delivering: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly options: {
      pool: pg.Pool;
      logger: Logger;
      intervalMs?: number;
      deliverIntervalMs?: number;
    } & DeliverOptions,
  ) {}

  start(): void {
    const evaluate = setInterval(() => void this.runOnce(), this.options.intervalMs ?? DEFAULT_EVALUATE_INTERVAL_MS);
    const deliver = setInterval(
      () => void this.deliverOnce(),
      this.options.deliverIntervalMs ?? Math.min(this.options.intervalMs ?? DEFAULT_EVALUATE_INTERVAL_MS, 5000),
    );
    evaluate.unref();
    deliver.unref();
    this.timers.push(evaluate, deliver);
    // A staged version's guard aborting it (server/gateway/rollout-guard.ts) is an event-like
    // alert: raised here, keyed by the rollout so every gateway that saw it raises it once.
    this.unsubscribeGuard = onRolloutGuardTripped(async (event) => {
      await raiseAlert(this.options.pool, {
        kind: "rollout_guard_tripped",
        tenant: event.tenant,
        key: event.rolloutId,
        summary: `The guard aborted ${event.stage} v${event.version} of ${event.tenant}: ${event.newRefusals} new refusals in a minute (at most ${event.maxNewRefusalsPerMinute})`,
        details: {
          rolloutId: event.rolloutId,
          version: event.version,
          stage: event.stage,
          newRefusals: event.newRefusals,
          maxNewRefusalsPerMinute: event.maxNewRefusalsPerMinute,
          gatewayId: event.gatewayId,
        },
      });
      void this.deliverOnce();
    });
    void this.runOnce();
  }

  /** One evaluation pass and delivery round now (or the one in progress). */
  runOnce(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= evaluateAlerts(this.options)
      .then(
        () => this.deliverOnce(),
        (error: unknown) => {
          this.options.logger.warn({ err: (error as Error).message }, "alert evaluation failed; will retry");
        },
      )
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  deliverOnce(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.delivering ??= deliverDueAlerts(this.options.pool, this.options)
      .then(
        () => undefined,
        (error: unknown) => {
          this.options.logger.warn({ err: (error as Error).message }, "alert delivery round failed; will retry");
        },
      )
      .finally(() => {
        this.delivering = null;
      });
    return this.delivering;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeGuard?.();
    this.unsubscribeGuard = null;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.running;
    await this.delivering;
  }
}
